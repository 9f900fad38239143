package terminal

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sharedPump is a resumable pump over one end of a socketpair; proc is the
// process's end.
func sharedPump(t *testing.T) (*ResumablePump, *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds { // pollable: deadlines work
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	rp := NewResumablePump(PumpConfig{File: os.NewFile(uintptr(fds[0]), "pty"), Log: discard}, 64<<10)
	proc := os.NewFile(uintptr(fds[1]), "proc")
	t.Cleanup(func() {
		rp.Close()
		proc.Close()
	})
	return rp, proc
}

// peerChannel is a channel whose peer reads at once (nothing stays
// buffered) unless the test says it stopped reading (setBuffered).
type peerChannel struct {
	mu       sync.Mutex
	text     []string
	binary   [][]byte
	buffered uint64
}

func (f *peerChannel) Send(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.binary = append(f.binary, append([]byte(nil), p...))
	return nil
}

func (f *peerChannel) SendText(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text = append(f.text, s)
	return nil
}

func (f *peerChannel) BufferedAmount() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buffered
}

func (f *peerChannel) setBuffered(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buffered = n
}

func (f *peerChannel) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.text...)
}

func (f *peerChannel) bytesSent() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Join(f.binary, nil)
}

// waitFor polls cond until it holds (or fails the test after 10 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serveBridge runs fn (Serve or Watch) on b in the background; the returned stop
// shuts b down and waits for fn to return.
func serveBridge(fn func(*Bridge), b *Bridge) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(b)
	}()
	return func() {
		b.Shutdown("test")
		<-done
	}
}

// readProc reads what reached the process until it has want (or 10 s).
func readProc(t *testing.T, proc *os.File, want string) {
	t.Helper()
	_ = proc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 0, len(want))
	buf := make([]byte, 256)
	for !strings.Contains(string(got), want) {
		n, err := proc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("process got %q, want %q: %v", got, want, err)
		}
	}
}

// procGetsNothing checks that nothing reaches the process for a while.
func procGetsNothing(t *testing.T, proc *os.File) {
	t.Helper()
	_ = proc.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if n, err := proc.Read(make([]byte, 256)); n > 0 || err == io.EOF {
		t.Fatalf("input reached the process: %d bytes, %v", n, err)
	}
}

// The owner and a viewer see the same output; the viewer's input is dropped
// (and counted) until the owner hands it control, then the owner's is;
// taking control back restores the owner.
func TestSharedTerminalControl(t *testing.T) {
	rp, proc := sharedPump(t)
	_, _ = proc.Write([]byte("before-"))
	ownerCh, viewerCh := &peerChannel{}, &peerChannel{}
	owner := NewBridge(ownerCh, true, discard, nil)
	viewer := NewBridge(viewerCh, true, discard, nil)
	stopOwner := serveBridge(rp.Serve, owner)
	defer stopOwner()
	waitFor(t, "owner's replay", func() bool { return bytes.Equal(ownerCh.bytesSent(), []byte("before-")) })
	stopViewer := serveBridge(rp.Watch, viewer)
	defer stopViewer()
	waitFor(t, "viewer's replay", func() bool { return bytes.Equal(viewerCh.bytesSent(), []byte("before-")) })
	if !strings.Contains(strings.Join(viewerCh.texts(), ""), CodeViewOnly) {
		t.Fatalf("viewer was not told it watches: %q", viewerCh.texts())
	}
	_, _ = proc.Write([]byte("after"))
	waitFor(t, "live output on both", func() bool {
		return string(ownerCh.bytesSent()) == "before-after" && string(viewerCh.bytesSent()) == "before-after"
	})

	viewer.HandleMessage([]byte("from-viewer"), false)
	procGetsNothing(t, proc)
	waitFor(t, "the refusal counted", func() bool { return viewer.Activity().InputRefused == 1 })
	owner.HandleMessage([]byte("from-owner"), false)
	readProc(t, proc, "from-owner")

	if err := rp.SetController(viewer); err != nil {
		t.Fatal(err)
	}
	owner.HandleMessage([]byte("owner-again"), false)
	procGetsNothing(t, proc)
	viewer.HandleMessage([]byte("viewer-types"), false)
	readProc(t, proc, "viewer-types")

	if err := rp.SetController(nil); err != nil {
		t.Fatal(err)
	}
	viewer.HandleMessage([]byte("viewer-again"), false)
	procGetsNothing(t, proc)
	owner.HandleMessage([]byte("owner-back"), false)
	readProc(t, proc, "owner-back")

	if err := rp.SetController(NewBridge(&peerChannel{}, true, discard, nil)); err != ErrNotViewer {
		t.Fatalf("control to a stranger: %v, want ErrNotViewer", err)
	}
	// A controller that leaves gives control back to the owner.
	if err := rp.SetController(viewer); err != nil {
		t.Fatal(err)
	}
	stopViewer()
	if n, _ := rp.Viewers(); n != 0 {
		t.Fatalf("%d viewers after the viewer left", n)
	}
	owner.HandleMessage([]byte("owner-after-leave"), false)
	readProc(t, proc, "owner-after-leave")
}

// A viewer whose channel does not drain never holds the owner back: the
// owner gets every byte while the viewer is stuck; the viewer is dropped to
// a resync (a reset, then the ring) once it drains, and live output follows.
func TestSlowViewerResyncs(t *testing.T) {
	rp, proc := sharedPump(t)
	ownerCh, slowCh := &peerChannel{}, &peerChannel{}
	owner := NewBridge(ownerCh, true, discard, nil)
	slow := NewBridge(slowCh, true, discard, nil)
	stopOwner := serveBridge(rp.Serve, owner)
	defer stopOwner()
	stopSlow := serveBridge(rp.Watch, slow)
	defer stopSlow()
	waitFor(t, "viewer attached", func() bool { n, _ := rp.Viewers(); return n == 1 })
	slowCh.setBuffered(HighWaterMark * 4) // the viewer stopped reading

	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	total := 0
	for total <= 2*ViewerQueueBytes {
		if _, err := proc.Write(chunk); err != nil {
			t.Fatal(err)
		}
		total += len(chunk)
		// The owner keeps up: the pump is not held by the viewer.
		waitFor(t, "owner's output", func() bool { return len(ownerCh.bytesSent()) == total })
	}
	if _, resyncs := rp.Viewers(); resyncs != 0 {
		t.Fatalf("resynced before the viewer drained: %d", resyncs)
	}
	_, _ = proc.Write([]byte("END"))
	waitFor(t, "owner's end", func() bool { return bytes.HasSuffix(ownerCh.bytesSent(), []byte("END")) })

	slowCh.setBuffered(0) // the viewer reads again
	slow.NotifyBufferedLow()
	waitFor(t, "viewer's resync", func() bool {
		got := slowCh.bytesSent()
		i := bytes.LastIndex(got, []byte(ResyncPrefix))
		return i >= 0 && bytes.HasSuffix(got, []byte("END"))
	})
	got := slowCh.bytesSent()
	after := got[bytes.LastIndex(got, []byte(ResyncPrefix))+len(ResyncPrefix):]
	own := ownerCh.bytesSent()
	if !bytes.Equal(after, own[len(own)-len(after):]) || len(after) != 64<<10 {
		t.Fatalf("the resync is not the ring's %d bytes (got %d)", 64<<10, len(after))
	}
	if _, resyncs := rp.Viewers(); resyncs != 1 {
		t.Fatalf("resyncs %d, want 1", resyncs)
	}
	_, _ = proc.Write([]byte("LIVE"))
	waitFor(t, "live after the resync", func() bool { return bytes.HasSuffix(slowCh.bytesSent(), []byte("ENDLIVE")) })
}

// Several viewers and the pump's close: every goroutine returns (TestMain
// checks for leaks).
func TestViewersEndWithPump(t *testing.T) {
	rp, proc := sharedPump(t)
	done := make(chan struct{}, 3)
	for range 3 {
		b := NewBridge(&peerChannel{}, true, discard, nil)
		go func() {
			rp.Watch(b)
			done <- struct{}{}
		}()
	}
	waitFor(t, "three viewers", func() bool { n, _ := rp.Viewers(); return n == 3 })
	_, _ = proc.Write([]byte("x"))
	rp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("a viewer did not return after Close")
		}
	}
}

// A terminal query in the ring reaches the owner, who had not seen it, and
// not a viewer joining later: the owner's terminal answered it (queries.go).
func TestViewerJoinLeavesOutAnsweredQueries(t *testing.T) {
	rp, proc := sharedPump(t)
	_, _ = proc.Write([]byte("before-\x1b[6n"))
	ownerCh, viewerCh := &peerChannel{}, &peerChannel{}
	stopOwner := serveBridge(rp.Serve, NewBridge(ownerCh, true, discard, nil))
	defer stopOwner()
	waitFor(t, "owner's replay with the query", func() bool { return string(ownerCh.bytesSent()) == "before-\x1b[6n" })
	stopViewer := serveBridge(rp.Watch, NewBridge(viewerCh, true, discard, nil))
	defer stopViewer()
	_, _ = proc.Write([]byte("after"))
	waitFor(t, "viewer's replay without it, then live output", func() bool { return string(viewerCh.bytesSent()) == "before-after" })
}
