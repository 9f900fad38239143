package terminal

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Shared terminals (docs/protocol.md §2f): one ResumablePump, one reader of
// the descriptor, several channels. The owner's bridge is served as before
// (Serve: its output pushes back on the process); each viewer gets its own
// bounded queue and sender goroutine, so a slow viewer never slows the
// owner. A viewer whose queue would pass ViewerQueueBytes is dropped to a
// resync: its queue is emptied, and when its channel drained it gets a
// terminal reset (ResyncPrefix) and the scrollback ring, then live output
// again, with no byte lost or doubled between the two.
//
// Input: one participant has control at a time, the owner unless the
// owner handed it to a viewer (SetController). Input and resizes from the
// others are dropped in the pump and counted (Activity.InputRefused).

// ViewerQueueBytes is how much live output a viewer may lag behind the
// reader before it is dropped to a resync.
const ViewerQueueBytes = 256 << 10

// ResyncPrefix precedes the ring on a resync: RIS (full reset), so that a
// viewer's terminal shows the ring on a clean screen instead of after what
// it already had.
const ResyncPrefix = "\x1bc"

// ErrNotViewer: the bridge named is not a viewer of this terminal.
var ErrNotViewer = errors.New("terminal: not a viewer of this terminal")

// fanout is the viewers of one ResumablePump. mu orders ring writes against
// a viewer's snapshot of the ring: every ring write happens under it (write).
type fanout struct {
	mu       sync.Mutex
	ring     Scrollback
	viewers  map[*Bridge]*viewer
	queueMax int
	// controller is the viewer that has control; nil: the owner.
	controller atomic.Pointer[Bridge]
}

type viewer struct {
	q       [][]byte
	qBytes  int
	lagging bool // dropped: the next send is a resync
	wake    chan struct{}
	resyncs atomic.Int64
}

func newFanout(ring Scrollback) *fanout {
	return &fanout{ring: ring, viewers: map[*Bridge]*viewer{}, queueMax: ViewerQueueBytes}
}

// write puts p in the ring and on every viewer's queue.
func (f *fanout) write(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ring.Write(p)
	for _, v := range f.viewers {
		if v.lagging {
			continue
		}
		if v.qBytes+len(p) > f.queueMax {
			v.q, v.qBytes, v.lagging = nil, 0, true
		} else {
			v.q = append(v.q, append([]byte(nil), p...))
			v.qBytes += len(p)
		}
		select {
		case v.wake <- struct{}{}:
		default:
		}
	}
}

// may reports whether input from b reaches the descriptor: the controller's
// does; with no controller, the owner's (any bridge not a viewer).
func (f *fanout) may(b *Bridge) bool {
	if c := f.controller.Load(); c != nil {
		return c == b
	}
	f.mu.Lock()
	_, isViewer := f.viewers[b]
	f.mu.Unlock()
	return !isViewer
}

// next takes what v should send now: the ring after a reset when it lagged,
// else its queue; nil when there is nothing. The ring is cleared of terminal
// queries (the owner's terminal answered them, queries.go) after the lock,
// which every output write takes.
func (f *fanout) next(v *viewer) []byte {
	f.mu.Lock()
	if v.lagging {
		v.lagging = false
		v.resyncs.Add(1)
		ring := f.ring.Bytes()
		f.mu.Unlock()
		return append([]byte(ResyncPrefix), WithoutQueries(ring)...)
	}
	defer f.mu.Unlock()
	if len(v.q) == 0 {
		return nil
	}
	out := make([]byte, 0, v.qBytes)
	for _, c := range v.q {
		out = append(out, c...)
	}
	v.q, v.qBytes = nil, 0
	return out
}

// Watch serves b as a viewer: a CodeViewOnly error, the ring, then live
// output, until b shuts down or the pump is closed. Its input is written
// only while it has control (SetController).
func (r *ResumablePump) Watch(b *Bridge) {
	f := r.fan
	v := &viewer{wake: make(chan struct{}, 1)}
	f.mu.Lock()
	snap := f.ring.Bytes()
	f.viewers[b] = v
	f.mu.Unlock()
	snap = WithoutQueries(snap) // the owner's terminal answered them (queries.go)
	defer func() {
		f.mu.Lock()
		delete(f.viewers, b)
		f.mu.Unlock()
		f.controller.CompareAndSwap(b, nil) // a leaving controller gives control back to the owner
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.Done():
		case <-r.done:
		case <-ctx.Done(): // Watch returned for another reason
		}
		cancel()
	}()
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		r.inner.inputLoop(ctx, b, nil)
	}()
	defer func() { <-inputDone }()
	if b.Error(ctx, CodeViewOnly, viewerMessage) != nil || !sendCtx(ctx, b, snap) {
		return
	}
	for {
		if p := f.next(v); p != nil {
			if !sendCtx(ctx, b, p) {
				return
			}
			continue
		}
		select {
		case <-v.wake:
		case <-ctx.Done():
			return
		}
	}
}

// viewerMessage goes with the CodeViewOnly error a viewer gets on joining.
const viewerMessage = "shared session: you are watching; input is ignored until the owner hands you control"

// sendCtx is send with a context: false when b is gone or ctx ended.
func sendCtx(ctx context.Context, b *Bridge, p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), MaxAgentOutput)
		if b.Output(ctx, p[:n]) != nil {
			return false
		}
		p = p[n:]
	}
	return true
}

// SetController gives control to viewer b, or back to the owner (nil).
// ErrNotViewer when b is not watching this terminal.
func (r *ResumablePump) SetController(b *Bridge) error {
	f := r.fan
	if b == nil {
		f.controller.Store(nil)
		return nil
	}
	f.mu.Lock()
	_, ok := f.viewers[b]
	f.mu.Unlock()
	if !ok {
		return ErrNotViewer
	}
	f.controller.Store(b)
	return nil
}

// Viewers is how many viewers watch; Resyncs how many times a viewer was
// dropped to a resync so far (all viewers, those still watching).
func (r *ResumablePump) Viewers() (n int, resyncs int64) {
	f := r.fan
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.viewers {
		resyncs += v.resyncs.Load()
	}
	return len(f.viewers), resyncs
}
