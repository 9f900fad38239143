package terminal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// End reasons of a handed-over descriptor (SessionEvent.terminal_ended).
const (
	EndEOF       = "eof"
	EndReadError = "read_error"
)

// PumpHooks tell the agent what it must act on. They are called from the
// pump's goroutines and must not block.
type PumpHooks struct {
	// Resize is the peer's terminal size, coalesced to at most one call
	// per ResizeEventInterval (the last size always arrives).
	Resize func(cols, rows uint32)
	// Ended is called once when the descriptor reached its end (EndEOF) or
	// failed (EndReadError); not when the pump was stopped.
	Ended func(reason, message string)
}

// PumpConfig is what a Pump is built from.
type PumpConfig struct {
	// File is the handed-over descriptor (a socket or a PTY master), in
	// non-blocking mode so that closing it wakes a blocked read. The pump
	// owns it from NewPump on and closes it.
	File *os.File
	// Preread is output the agent read before the handoff; it is sent
	// before anything read from File.
	Preread []byte
	// Recorder, when not nil, gets a copy of every output byte, and of
	// every input byte when RecordInput. The pump closes it at the end.
	Recorder    *Recorder
	RecordInput bool
	// ViewOnly drops the peer's input (a view-only grant; it is neither
	// written nor recorded) and tells the peer once, before any output,
	// with a CodeViewOnly error.
	ViewOnly bool
	Hooks    PumpHooks
	Log      *slog.Logger
}

// Pump moves bytes between a handed-over descriptor and a Bridge.
//
// Output: one goroutine reads the descriptor and writes through
// Bridge.Output, which waits while the channel is above its high mark (at
// most HighWaterMark, less on a slow link: about BufferedTimeTarget of
// output), so the descriptor is not read (and the process blocks on its own
// writes) until the peer caught up. Reads are no larger than Bridge.ReadSize
// so that what the pump holds is bounded by time too. Input: another goroutine takes the peer's
// frames and writes input to the descriptor (a write blocks while the
// process does not read; the peer is then pushed back by the bounded frame
// queue); resizes go to Hooks.Resize. The two share nothing, so Ctrl-C
// reaches the process while output is held back.
type Pump struct {
	cfg   PumpConfig
	flush interrupts // Ctrl-C during a backlog (flush.go)

	attached chan struct{} // closed when Run attached a bridge
	stopOut  chan struct{} // End asks the output loop to stop
	outDone  chan struct{} // the output loop returned
	done     chan struct{} // the descriptor is closed; Run or Discard returned

	mu        sync.Mutex // guards b and endCalled
	b         *Bridge
	endCalled bool

	endedOnce sync.Once // Hooks.Ended
	closeOnce sync.Once // File and Recorder

	// gate, when set (a shared terminal, fanout.go), says whose input and
	// resizes reach the descriptor; the others' are dropped and counted.
	gate func(b *Bridge) bool
}

// NewPump returns a pump that owns cfg.File. Call Run or Discard once.
func NewPump(cfg PumpConfig) *Pump {
	p := &Pump{
		cfg:      cfg,
		attached: make(chan struct{}),
		stopOut:  make(chan struct{}),
		outDone:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	p.flush.enabled = !isTerminal(cfg.File)
	return p
}

// Done is closed once the descriptor is closed and the pump's goroutines
// returned.
func (p *Pump) Done() <-chan struct{} { return p.done }

// Discard closes the descriptor without pumping: the session ended before
// its channel opened.
func (p *Pump) Discard() {
	p.close()
	close(p.outDone)
	close(p.done)
}

func (p *Pump) close() {
	p.closeOnce.Do(func() {
		if err := p.cfg.File.Close(); err != nil {
			p.cfg.Log.Debug("close handed-over descriptor", "err", err)
		}
		if p.cfg.Recorder != nil {
			p.cfg.Recorder.Close()
		}
	})
}

// Run pumps between the descriptor and b until b shuts down or ctx ends,
// then closes the descriptor.
func (p *Pump) Run(ctx context.Context, b *Bridge) {
	defer close(p.done)
	p.mu.Lock()
	p.b = b
	p.mu.Unlock()
	close(p.attached)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { p.inputLoop(ctx, b, nil) })
	wg.Go(func() {
		defer close(p.outDone)
		p.outputLoop(ctx, b)
	})
	select {
	case <-b.Done():
	case <-ctx.Done():
	}
	cancel()
	p.close() // wakes a read or write blocked on the descriptor
	wg.Wait()
}

// outputLoop sends the preread bytes, then everything read from the
// descriptor, until it ends, End stops it or the bridge closes.
func (p *Pump) outputLoop(ctx context.Context, b *Bridge) {
	if p.cfg.ViewOnly {
		if err := b.Error(ctx, CodeViewOnly, viewOnlyMessage); err != nil {
			return
		}
	}
	if len(p.cfg.Preread) > 0 {
		p.record(false, p.cfg.Preread)
		if err := b.Output(ctx, p.cfg.Preread); err != nil {
			return
		}
	}
	buf := make([]byte, PumpReadSize)
	for {
		n, err := p.cfg.File.Read(buf[:b.ReadSize()])
		if n > 0 {
			p.record(false, buf[:n])
			ok, _, ferr := p.send(ctx, b, buf[:n], p.stopOut, func(kept []byte) { p.record(false, kept) })
			if !ok {
				return // the session is closing
			}
			if ferr != nil {
				err = ferr // the descriptor ended while a Ctrl-C flush discarded
			}
		}
		if err == nil {
			continue
		}
		select {
		case <-p.stopOut:
			return // End stopped us (a read deadline in the past)
		case <-ctx.Done():
			return
		default:
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, syscall.EIO):
			// EIO: a PTY master whose slave side is closed everywhere.
			p.ended(EndEOF, "")
		case errors.Is(err, os.ErrClosed):
		default:
			p.ended(EndReadError, err.Error())
		}
		return
	}
}

func (p *Pump) ended(reason, message string) {
	p.endedOnce.Do(func() {
		p.cfg.Log.Debug("handed-over descriptor ended", "reason", reason, "detail", message)
		if p.cfg.Hooks.Ended != nil {
			p.cfg.Hooks.Ended(reason, message)
		}
	})
}

func (p *Pump) record(input bool, data []byte) {
	if p.cfg.Recorder != nil && (!input || p.cfg.RecordInput) {
		p.cfg.Recorder.Add(input, data)
	}
}

// inputLoop writes the peer's input to the descriptor and turns resizes
// into (coalesced) hook calls, until ctx ends, b shuts down or stop (nil:
// never) is closed.
func (p *Pump) inputLoop(ctx context.Context, b *Bridge, stop <-chan struct{}) {
	var (
		pending   *PeerMessage
		timer     *time.Timer
		timerC    <-chan time.Time
		lastSent  time.Time
		writeDead bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	resize := func(m PeerMessage) {
		lastSent = time.Now()
		if p.cfg.Hooks.Resize != nil {
			p.cfg.Hooks.Resize(m.Cols, m.Rows)
		}
	}
	for {
		select {
		case m := <-b.Frames():
			switch m.Kind {
			case PeerResize:
				if p.gate != nil && !p.gate(b) {
					continue
				}
				if wait := ResizeEventInterval - time.Since(lastSent); wait > 0 {
					pending = &m
					if timerC == nil {
						timer = time.NewTimer(wait)
						timerC = timer.C
					}
					continue
				}
				resize(m)
			case PeerInput:
				if p.cfg.ViewOnly {
					continue // dropped, not recorded (the activity still counts it)
				}
				if p.gate != nil && !p.gate(b) {
					b.act.refuse()
					continue // a viewer without control (fanout.go)
				}
				p.record(true, m.Data)
				if writeDead {
					continue // the process is gone; keep draining
				}
				p.interrupt(b, m.Data)
				if _, err := p.cfg.File.Write(m.Data); err != nil {
					if ctx.Err() != nil || closed(b.Done()) || closed(stop) || errors.Is(err, os.ErrClosed) {
						return
					}
					p.cfg.Log.Info("write to handed-over descriptor failed; dropping input", "err", err)
					writeDead = true
				}
			}
		case <-timerC:
			timerC = nil
			if pending != nil {
				resize(*pending)
				pending = nil
			}
		case <-ctx.Done():
			return
		case <-b.Done():
			return
		case <-stop:
			return
		}
	}
}

// closed reports whether ch is closed (false for nil).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// End stops reading the descriptor, sends the output already read, then
// an error message (when errCode is not empty) and, when sendExit, the
// exit message. It waits (within ctx) for the channel to open and for room
// in it.
func (p *Pump) End(ctx context.Context, code int32, errCode, errMessage string, sendExit bool) error {
	p.mu.Lock()
	if p.endCalled {
		p.mu.Unlock()
		return ErrPumpEnded
	}
	p.endCalled = true
	p.mu.Unlock()

	select {
	case <-p.attached:
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	close(p.stopOut)
	// A deadline in the past wakes a blocked read; the descriptor may
	// already be closed (the session is closing), which is fine.
	_ = p.cfg.File.SetReadDeadline(time.Now())
	select {
	case <-p.outDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	b := p.b
	p.mu.Unlock()
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
