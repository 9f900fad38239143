package memory

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// bound is how long a test waits for something that should take milliseconds.
const bound = 20 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestReleaser(idle func() bool) (*Releaser, *atomic.Int32) {
	var n atomic.Int32
	r := NewReleaser(time.Millisecond, idle, quiet())
	r.release = func() { n.Add(1) }
	return r, &n
}

func waitReleased(t *testing.T, r *Releaser, want int) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for r.Released() < want {
		if time.Now().After(deadline) {
			t.Fatalf("released %d times, want %d", r.Released(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReleasesWhenIdle(t *testing.T) {
	r, n := newTestReleaser(func() bool { return true })
	defer r.Stop()
	r.Idle()
	waitReleased(t, r, 1)
	r.Idle() // idle again after a later session: released again
	waitReleased(t, r, 2)
	if n.Load() != 2 {
		t.Fatalf("release ran %d times", n.Load())
	}
}

// A session opened before the delay passed: nothing is released, and the
// timer does not fire again until the next Idle.
func TestNoReleaseWhileBusy(t *testing.T) {
	checked := make(chan struct{}, 1)
	r, n := newTestReleaser(func() bool {
		checked <- struct{}{}
		return false
	})
	defer r.Stop()
	r.Idle()
	select {
	case <-checked:
	case <-time.After(bound):
		t.Fatal("idle was never checked")
	}
	if n.Load() != 0 || r.Released() != 0 {
		t.Fatalf("released while busy (%d)", n.Load())
	}
}

func TestStopCancels(t *testing.T) {
	r, n := newTestReleaser(func() bool { return true })
	r.Stop()
	r.Idle()
	time.Sleep(20 * time.Millisecond) // ample for a 1 ms timer, were one armed
	if n.Load() != 0 {
		t.Fatal("released after Stop")
	}
}

// Retained follows what the runtime holds: a large allocation raises it.
func TestRetainedCountsTheHeap(t *testing.T) {
	before := Retained()
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	if after := Retained(); after < before+32<<20 {
		t.Fatalf("retained %d MiB → %d MiB with a 64 MiB allocation", before>>20, after>>20)
	}
	_ = ballast[len(ballast)-1]
}
