package rpcserver

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"porthole/core-go/internal/memory"
	"porthole/core-go/internal/testpeer"
)

// sink keeps the stand-in for session buffers reachable until it is dropped.
var sink [][]byte

// After the last session closes, the heap the runtime kept from the sessions
// goes back to the OS (porthole-core's idle RSS returns near its start).
// 64 MiB dropped while sessions ran stands in for what a burst of sessions
// leaves behind: without a release the runtime keeps it mapped (no
// collection is due, the scavenger keeps up to the heap goal).
func TestHeapReturnedWhenLastSessionCloses(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	rel := memory.NewReleaser(10*time.Millisecond, func() bool { return h.mgr.Len() == 0 }, testLogger())
	t.Cleanup(rel.Stop)
	h.mgr.OnIdle(rel.Idle)

	runtime.GC()
	debug.FreeOSMemory()
	base := memory.Retained()

	const sessions = 3
	var peers []*testpeer.Peer
	for i := range sessions {
		id := fmt.Sprintf("mem-%d", i)
		p := h.connect(id, testpeer.Options{})
		a, _ := h.attach(id)
		a.output([]byte("hello"))
		if m := p.Next(); len(m.Data) == 0 {
			t.Fatal("no output")
		}
		peers = append(peers, p)
	}
	for range 64 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		sink = append(sink, b)
	}
	sink = nil
	held := memory.Retained()
	if rel.Released() != 0 {
		t.Fatalf("released with %d sessions open", h.mgr.Len())
	}

	for i, p := range peers {
		p.Close()
		h.waitClosed(fmt.Sprintf("mem-%d", i))
	}
	deadline := time.Now().Add(wait)
	for rel.Released() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the heap was not released after the last session closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The test peers, gRPC and pion keep some; far less than the 64 MiB.
	if after := memory.Retained(); after > base+24<<20 {
		t.Fatalf("retained %d MiB after the last close (%d MiB before the sessions, %d MiB with them)",
			after>>20, base>>20, held>>20)
	}
}
