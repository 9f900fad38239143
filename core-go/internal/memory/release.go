// Package memory gives the heap that sessions used back to the operating
// system once the last one has closed.
//
// The Go runtime keeps freed heap mapped: after a burst of sessions it
// collects only when the heap grows past its goal again (or after two idle
// minutes), and its background scavenger returns pages only above that goal,
// which the burst set high. An idle porthole-core would hold its peak for a
// long time (the bench read 153 MiB after 200 sessions, 20 MiB idle). A
// Releaser runs debug.FreeOSMemory (a full collection, then every free page
// returned) shortly after the session count drops to zero; GOMEMLIMIT, when
// set, still bounds the heap while sessions are open.
package memory

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// IdleDelay is how long the sidecar must have had no session before the
// heap is returned: a tab closed and another opened at once costs nothing.
const IdleDelay = 5 * time.Second

// Releaser returns freed heap to the OS once its source has been idle for
// a delay. Its methods are safe for concurrent use.
type Releaser struct {
	delay   time.Duration
	idle    func() bool // true while there is no session
	release func()      // debug.FreeOSMemory outside tests
	log     *slog.Logger

	mu       sync.Mutex // guards timer, stopped and released
	timer    *time.Timer
	stopped  bool
	released int
}

// NewReleaser returns a Releaser that checks idle when its delay has passed
// since the last Idle call, and releases the heap if it still holds.
func NewReleaser(delay time.Duration, idle func() bool, log *slog.Logger) *Releaser {
	return &Releaser{delay: delay, idle: idle, release: releaseHeap, log: log}
}

// releaseHeap collects twice, then returns every free page: buffers the
// sessions left in sync.Pools (pion's DTLS and ICE pools hold some MiB)
// survive one collection in the pools' victim cache, and would keep their
// spans resident.
func releaseHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}

// Idle reports that the last session closed: the heap is released after the
// delay unless a session is open by then. Never blocks.
func (r *Releaser) Idle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.delay, r.fire)
		return
	}
	r.timer.Reset(r.delay)
}

func (r *Releaser) fire() {
	if !r.idle() {
		return // a session opened meanwhile; its close calls Idle again
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	before := Retained()
	r.release()
	r.log.Debug("no session: heap returned to the OS", "retained_before_mib", before>>20, "retained_mib", Retained()>>20)
	r.mu.Lock()
	r.released++
	r.mu.Unlock()
}

// Released is how many times the heap has been returned (for tests and logs).
func (r *Releaser) Released() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.released
}

// Stop cancels a pending release; later Idle calls do nothing.
func (r *Releaser) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}
