package terminal

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// ResumablePump pumps a handed-over descriptor like Pump, but outlives its
// channel: when the bridge it serves shuts down (the peer went away) it keeps
// reading the descriptor into a bounded scrollback ring, so the process never
// blocks on its output, until Serve attaches another bridge (a resumed
// session) or Close releases the descriptor.
//
// Every byte read goes into the ring first, then (when a bridge is attached)
// to the peer. A newly attached bridge first gets the ring's contents (the
// replay), then live bytes: the output loop alone reads, rings and sends, and
// it switches bridges between two reads, so no byte is lost or doubled
// between the replay and the live stream.
type ResumablePump struct {
	inner *Pump      // its config and input loop; its Run/End are not used
	ring  Scrollback // a Ring, or a SharedRing that outlives porthole-core
	fan   *fanout    // viewers of a shared terminal (fanout.go); every ring write goes through it

	hooksMu sync.Mutex
	hooks   PumpHooks // swapped when the pump moves to another session

	mu       sync.Mutex // guards next, endCalled, cur
	next     *Bridge    // a bridge waiting for the output loop to take it
	cur      *Bridge    // the bridge the output loop sends to (for End)
	attached chan struct{}

	stopOut   chan struct{}
	stopOnce  sync.Once
	outDone   chan struct{}
	done      chan struct{}
	doneOnce  sync.Once
	endCalled bool
	eof       chan struct{} // the descriptor ended (EOF or error)
	eofOnce   sync.Once
}

// NewResumablePump starts reading cfg.File at once (into a ring of ringSize
// bytes) and owns it until Close.
func NewResumablePump(cfg PumpConfig, ringSize int) *ResumablePump {
	return NewResumablePumpRing(cfg, NewRing(ringSize))
}

// NewResumablePumpRing is NewResumablePump with the ring given (a
// SharedRing continued from an earlier porthole-core); Close closes it when
// it is an io.Closer.
func NewResumablePumpRing(cfg PumpConfig, ring Scrollback) *ResumablePump {
	r := &ResumablePump{
		ring:     ring,
		hooks:    cfg.Hooks,
		attached: make(chan struct{}),
		stopOut:  make(chan struct{}),
		outDone:  make(chan struct{}),
		done:     make(chan struct{}),
		eof:      make(chan struct{}),
	}
	cfg.Hooks = PumpHooks{
		Resize: func(cols, rows uint32) {
			if h := r.currentHooks(); h.Resize != nil {
				h.Resize(cols, rows)
			}
		},
		Ended: func(reason, message string) {
			if h := r.currentHooks(); h.Ended != nil {
				h.Ended(reason, message)
			}
		},
	}
	r.inner = NewPump(cfg)
	r.fan = newFanout(r.ring)
	r.inner.gate = r.fan.may
	go r.outputLoop()
	return r
}

func (r *ResumablePump) currentHooks() PumpHooks {
	r.hooksMu.Lock()
	defer r.hooksMu.Unlock()
	return r.hooks
}

// SetHooks points the pump's resize and end at another session.
func (r *ResumablePump) SetHooks(h PumpHooks) {
	r.hooksMu.Lock()
	r.hooks = h
	r.hooksMu.Unlock()
}

// Done is closed once Close released the descriptor and the loops returned.
func (r *ResumablePump) Done() <-chan struct{} { return r.done }

// Ended is closed when the descriptor reached its end (the process exited).
func (r *ResumablePump) Ended() <-chan struct{} { return r.eof }

// Serve attaches b: the ring is replayed on it, then live output follows;
// the peer's input goes to the descriptor. It returns when b shuts down or
// the pump is closed; the descriptor stays open.
func (r *ResumablePump) Serve(b *Bridge) {
	r.mu.Lock()
	r.next = b
	first := r.attached
	r.mu.Unlock()
	select {
	case <-first:
	default:
		close(first)
	}
	// Wake a read blocked on an idle descriptor so that the replay goes out now.
	_ = r.inner.cfg.File.SetReadDeadline(time.Now())
	r.inner.inputLoop(context.Background(), b, r.done)
}

func (r *ResumablePump) take() *Bridge {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.next
	r.next = nil
	if b != nil {
		r.cur = b
	}
	return b
}

// send writes p to b in pieces the bridge accepts; ok is false when b is
// gone. A Ctrl-C during a backlog (flush.go) drops the rest of p and the
// flood still on the way; err is a read error met meanwhile.
func (r *ResumablePump) send(b *Bridge, p []byte) (ok bool, err error) {
	for len(p) > 0 {
		n := min(len(p), MaxAgentOutput)
		ok, flushed, err := r.inner.send(context.Background(), b, p[:n], r.stopOut, func(kept []byte) {
			r.inner.record(false, kept)
			r.fan.write(kept) // viewers see the marker and the kept tail too
		})
		if !ok || flushed {
			return ok, err
		}
		p = p[n:]
	}
	return true, nil
}

func (r *ResumablePump) outputLoop() {
	defer close(r.outDone)
	cfg := &r.inner.cfg
	// unseen counts the ring's newest bytes that no peer was sent live (read
	// while none was attached): their terminal queries were never answered.
	unseen := len(cfg.Preread)
	if len(cfg.Preread) > 0 {
		r.inner.record(false, cfg.Preread)
		r.fan.write(cfg.Preread)
	}
	var cur *Bridge
	buf := make([]byte, PumpReadSize)
	for {
		var err error
		if b := r.take(); b != nil {
			cur = b
			if cfg.ViewOnly && b.Error(context.Background(), CodeViewOnly, viewOnlyMessage) != nil {
				cur = nil
			}
			if cur != nil {
				var ok bool
				if ok, err = r.send(cur, replay(r.ring.Bytes(), unseen)); ok {
					unseen = 0
				} else {
					cur = nil
				}
			}
		}
		if err == nil {
			var n int
			n, err = cfg.File.Read(buf)
			if n > 0 {
				r.inner.record(false, buf[:n])
				r.fan.write(buf[:n])
				if cur != nil {
					ok, ferr := r.send(cur, buf[:n])
					if !ok {
						cur = nil // the peer went away: the bytes are in the ring
					}
					if ferr != nil {
						err = ferr // the descriptor ended while a Ctrl-C flush discarded
					}
				}
				if cur == nil {
					unseen += n
				}
			}
		}
		if err == nil {
			continue
		}
		select {
		case <-r.stopOut:
			return
		default:
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			_ = cfg.File.SetReadDeadline(time.Time{}) // woken by Serve: take the new bridge
			continue
		case errors.Is(err, io.EOF), errors.Is(err, syscall.EIO):
			r.inner.ended(EndEOF, "")
		case errors.Is(err, os.ErrClosed):
		default:
			r.inner.ended(EndReadError, err.Error())
		}
		r.eofOnce.Do(func() { close(r.eof) })
		return
	}
}

// replay is what a peer attaching gets of the ring: without the terminal
// queries that a peer before it saw and answered live (queries.go), with
// those of the last unseen bytes, written while no peer was attached.
func replay(ring []byte, unseen int) []byte {
	seen := len(ring) - min(unseen, len(ring))
	head := WithoutQueries(ring[:seen])
	if len(head) == seen {
		return ring
	}
	return append(head, ring[seen:]...)
}

// End stops reading, sends the output already read to the attached bridge,
// then the error (when errCode is set) and, when sendExit, the exit.
func (r *ResumablePump) End(ctx context.Context, code int32, errCode, errMessage string, sendExit bool) error {
	r.mu.Lock()
	if r.endCalled {
		r.mu.Unlock()
		return ErrPumpEnded
	}
	r.endCalled = true
	attached := r.attached
	r.mu.Unlock()
	select {
	case <-attached:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	r.stopOnce.Do(func() { close(r.stopOut) })
	_ = r.inner.cfg.File.SetReadDeadline(time.Now())
	select {
	case <-r.outDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	b := r.cur
	r.mu.Unlock()
	if b == nil {
		return ErrClosed
	}
	if errCode != "" {
		if err := b.Error(ctx, errCode, errMessage); err != nil {
			return err
		}
	}
	if !sendExit {
		return nil
	}
	return b.Exit(ctx, code)
}

// Close releases the descriptor (and the recorder) and waits for the output
// loop; later calls do nothing.
func (r *ResumablePump) Close() {
	r.doneOnce.Do(func() {
		r.stopOnce.Do(func() { close(r.stopOut) })
		r.inner.close()
		<-r.outDone
		if c, ok := r.ring.(io.Closer); ok {
			_ = c.Close() // the output loop, its only user, has returned
		}
		close(r.done)
	})
}
