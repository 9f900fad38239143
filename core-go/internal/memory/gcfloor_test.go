package memory

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 16 << 20, 400},       // before the first collection: a 16 MiB minimum goal
		{2 << 20, 16 << 20, 450}, // a few sessions: the minimum goal, 18 MiB
		{8 << 20, 16 << 20, 200}, // 8 + 8 × 2 = 24 MiB
		{12 << 20, 16 << 20, 134},
		{16 << 20, 16 << 20, 100}, // from here on GOGC=100 gives as much or more
		{64 << 20, 16 << 20, 100},
	} {
		if got := percentFor(c.live, c.headroom, 100); got != c.want {
			t.Errorf("percentFor(%d, %d) = %d, want %d", c.live, c.headroom, got, c.want)
		}
	}
}

// fakeRuntime stands in for the collector: the test says what is live and
// runs the collections.
type fakeRuntime struct {
	mu    sync.Mutex
	live  uint64
	set   []int
	after func()
}

func (r *fakeRuntime) floor() *GCFloor {
	f := newGCFloor(16<<20,
		func() uint64 { r.mu.Lock(); defer r.mu.Unlock(); return r.live },
		func(p int) { r.mu.Lock(); defer r.mu.Unlock(); r.set = append(r.set, p) },
		func(after func()) { r.mu.Lock(); defer r.mu.Unlock(); r.after = after })
	return f
}

func (r *fakeRuntime) collect(live uint64) {
	r.mu.Lock()
	r.live = live
	after := r.after
	r.after = nil
	r.mu.Unlock()
	if after != nil {
		after()
	}
}

func (r *fakeRuntime) sets() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.set...)
}

// The percent follows the live heap collection by collection, back to 100
// once the sessions' heap is larger than the headroom, and small changes
// are not applied.
func TestGCFloorFollowsTheLiveHeap(t *testing.T) {
	r := &fakeRuntime{}
	f := r.floor()
	f.start()           // 400 before the first collection
	r.collect(2 << 20)  // 450: less than an eighth away
	r.collect(64 << 20) // 200 sessions
	r.collect(8 << 20)
	f.Stop()
	r.collect(1 << 20) // stopped: left where it was
	got := r.sets()
	want := []int{400, 100, 200}
	if len(got) != len(want) {
		t.Fatalf("percents set %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("percents set %v, want %v", got, want)
		}
	}
	if f.Percent() != 200 {
		t.Fatalf("Percent() = %d, want 200", f.Percent())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.after != nil {
		t.Fatal("a stopped floor still waits for collections")
	}
}

// With the real runtime the floor is called again after each collection.
func TestAfterNextGCRunsAfterACollection(t *testing.T) {
	done := make(chan struct{})
	afterNextGC(func() { close(done) })
	deadline := time.Now().Add(bound)
	for {
		runtime.GC()
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the callback did not run after collections")
		}
	}
}

// An operator's GOGC wins over the floor.
func TestGCFloorLeavesAnOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	if f := StartGCFloor(); f != nil {
		f.Stop()
		t.Fatal("started with GOGC set")
	}
}

func TestLiveHeapReadsTheRuntime(t *testing.T) {
	runtime.GC()
	if liveHeap() == 0 {
		t.Fatal("no live heap reported")
	}
}
