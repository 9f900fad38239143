package memory

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MinHeadroom is how far above the live heap the GC floor keeps the heap
// goal: what porthole-core may allocate between two collections.
//
// With the runtime's default (GOGC=100, and a 4 MiB goal at least) a
// terminal flood collects every 2 MiB allocated: the live heap of a few
// sessions is about 2 MiB, while pion allocates several bytes per byte sent
// (each SCTP packet and DTLS record is marshalled into a new buffer). The
// bench counted about four collections per MB of output; their marking and
// sweeping took about a quarter of porthole-core's CPU in the flood. 16 MiB
// of headroom collects six to eight times less often there; with many sessions
// (a live heap above 16 MiB) the floor is below GOGC=100 and changes nothing.
const MinHeadroom = 16 << 20

// GCFloor raises the GC percent while the live heap is small so that the
// heap goal is at least MinHeadroom above it, and leaves GOGC=100 once the
// live heap is larger. It re-evaluates after every collection. An operator's
// GOGC (or GOGC=off) in the environment wins: the floor then does nothing.
// GOMEMLIMIT still bounds the heap either way.
type GCFloor struct {
	headroom uint64
	base     int                // the percent it never goes below (GOGC=100)
	live     func() uint64      // the live heap after the last collection
	set      func(percent int)  // debug.SetGCPercent outside tests
	cycle    func(after func()) // calls after once after the next collection
	mu       sync.Mutex         // guards stopped and percent
	stopped  bool
	percent  int
}

// StartGCFloor starts the floor with MinHeadroom, unless GOGC is set in the
// environment (then it returns nil: the operator chose).
func StartGCFloor() *GCFloor {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return nil
	}
	f := newGCFloor(MinHeadroom, liveHeap, func(p int) { debug.SetGCPercent(p) }, afterNextGC)
	f.start()
	return f
}

func newGCFloor(headroom uint64, live func() uint64, set func(int), cycle func(func())) *GCFloor {
	return &GCFloor{headroom: headroom, base: 100, live: live, set: set, cycle: cycle, percent: 100}
}

func (f *GCFloor) start() {
	f.update()
	f.cycle(f.onCycle)
}

func (f *GCFloor) onCycle() {
	f.mu.Lock()
	stopped := f.stopped
	f.mu.Unlock()
	if stopped {
		return
	}
	f.update()
	f.cycle(f.onCycle)
}

// Percent is the GC percent the floor set last (100 before any).
func (f *GCFloor) Percent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

// runtimeHeapMinimum is the runtime's smallest heap goal at GOGC=100; it
// scales with the percent (4 MiB × GOGC/100).
const runtimeHeapMinimum = 4 << 20

// percentFor is the GC percent that puts the heap goal about headroom above
// live, never below base. The goal is the larger of live × (1 + percent/100)
// (plus stacks and globals) and the runtime's minimum, which grows with the
// percent too, so both are kept near live + headroom: before the first
// collection (live 0) that is the minimum alone.
func percentFor(live, headroom uint64, base int) int {
	byMinimum := 100 * (live + headroom) / runtimeHeapMinimum
	p := byMinimum
	if live > 0 {
		p = min(p, (headroom*100+live-1)/live)
	}
	return max(base, int(p))
}

func (f *GCFloor) update() {
	p := percentFor(f.live(), f.headroom, f.base)
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return
	}
	// A change of less than an eighth is not worth a pacer update.
	old := f.percent
	changed := p != old && (p == f.base || p > old+old/8 || p < old-old/8)
	if changed {
		f.percent = p
	}
	f.mu.Unlock()
	if changed {
		f.set(p)
	}
}

// Stop leaves the percent where it is and stops re-evaluating it.
func (f *GCFloor) Stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
}

// liveHeap is the heap marked live by the last collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// gcSentinel is allocated for one collection: its cleanup runs once a
// collection found it unreachable. It holds a pointer so that it is not
// batched with other tiny objects (which would delay its cleanup).
type gcSentinel struct {
	_ *byte
	_ [16]byte
}

// afterNextGC calls after (on the runtime's cleanup goroutine) once the
// next collection has run.
func afterNextGC(after func()) {
	s := &gcSentinel{}
	runtime.AddCleanup(s, func(f func()) { f() }, after)
}
