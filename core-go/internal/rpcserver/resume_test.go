package rpcserver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/testpeer"
)

// binaryUntil collects a binary peer's output until it holds want.
func binaryUntil(t *testing.T, p *testpeer.Peer, want string) string {
	t.Helper()
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		m := p.Next()
		if m.IsText {
			t.Fatalf("text message %q while waiting for %q (got %q)", m.Data, want, got.String())
		}
		got.Write(m.Data)
	}
	return got.String()
}

// A resumable terminal outlives its peer: detached, its output goes to the
// ring, and a new session gets the ring then live bytes, once each.
func TestResumeDetachedTerminal(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	bin := testpeer.Options{Protocol: "porthole-binary"}
	p := h.connect("res-a", bin)
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "res-a", Kind: handoff.KindSocket, RingBytes: 64}, theirs)
	if _, err := ours.Write([]byte("one;")); err != nil {
		t.Fatal(err)
	}
	binaryUntil(t, p, "one;")

	p.Close() // the peer goes away
	closed := h.waitEvent("res-a", "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed() != nil })
	if !closed.GetClosed().GetTerminalDetached() {
		t.Fatalf("closed without detaching: %+v", closed.GetClosed())
	}
	// Detached: the process keeps writing (more than the ring holds) without blocking.
	away := strings.Repeat("x", 100) + "two;"
	if _, err := ours.Write([]byte(away)); err != nil {
		t.Fatal(err)
	}

	q := h.connect("res-b", bin)
	if _, err := h.client.AttachTerminal(ctxT(t), &rpcv1.AttachTerminalRequest{FromSessionId: "res-a", ToSessionId: "res-b"}); err != nil {
		t.Fatalf("AttachTerminal: %v", err)
	}
	got := binaryUntil(t, q, "two;")
	if want := ("one;" + away)[len("one;"+away)-64:]; got != want {
		t.Fatalf("replay %q, want the ring's last 64 bytes %q", got, want)
	}
	if _, err := ours.Write([]byte("three;")); err != nil {
		t.Fatal(err)
	}
	if got := binaryUntil(t, q, "three;"); got != "three;" {
		t.Fatalf("live output %q after the replay, want only three;", got)
	}
	q.Send([]byte("ls\r"))
	readUntil(t, ours, "ls\r")

	// A second attach of the same detached terminal finds nothing.
	_, err := h.client.AttachTerminal(ctxT(t), &rpcv1.AttachTerminalRequest{FromSessionId: "res-a", ToSessionId: "res-b"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("second AttachTerminal: %v, want NotFound", err)
	}
	// The agent's close releases it for good: no detaching, and nothing to drop.
	h.closeSession("res-b", "closed_by_agent")
	_, err = h.client.DropTerminal(ctxT(t), &rpcv1.DropTerminalRequest{SessionId: "res-b"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("DropTerminal after the agent's close: %v, want NotFound", err)
	}
}

// The replay leaves out the terminal queries the first peer saw live (its
// terminal answered them: answered again, the answers would reach the shell
// as typed keys) and keeps those written while no peer was attached.
func TestResumeReplayLeavesOutAnsweredQueries(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	bin := testpeer.Options{Protocol: "porthole-binary"}
	p := h.connect("q-a", bin)
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "q-a", Kind: handoff.KindSocket, RingBytes: 1024}, theirs)
	if _, err := ours.Write([]byte("\x1b[1ma$ \x1b[6n")); err != nil {
		t.Fatal(err)
	}
	binaryUntil(t, p, "a$ \x1b[6n") // live, the query goes through
	p.Close()
	h.waitEvent("q-a", "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed().GetTerminalDetached() })
	if _, err := ours.Write([]byte("b$ \x1b[6n")); err != nil {
		t.Fatal(err)
	}

	q := h.connect("q-b", bin)
	if _, err := h.client.AttachTerminal(ctxT(t), &rpcv1.AttachTerminalRequest{FromSessionId: "q-a", ToSessionId: "q-b"}); err != nil {
		t.Fatalf("AttachTerminal: %v", err)
	}
	if got, want := binaryUntil(t, q, "b$ \x1b[6n"), "\x1b[1ma$ b$ \x1b[6n"; got != want {
		t.Fatalf("replay %q, want %q", got, want)
	}
}

// DropTerminal releases a detached terminal: the process side sees the end.
func TestDropDetachedTerminal(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("drop-a", testpeer.Options{Protocol: "porthole-binary"})
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "drop-a", Kind: handoff.KindSocket, RingBytes: 1024}, theirs)
	p.Close()
	h.waitEvent("drop-a", "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed().GetTerminalDetached() })
	if _, err := h.client.DropTerminal(ctxT(t), &rpcv1.DropTerminalRequest{SessionId: "drop-a"}); err != nil {
		t.Fatalf("DropTerminal: %v", err)
	}
	buf := make([]byte, 16)
	if n, err := ours.Read(buf); err == nil {
		t.Fatalf("read %q after the drop, want the end of the stream", buf[:n])
	}
}

// While the process writes without pause, the peer goes away and a new
// session attaches: its replay then live bytes are the whole stream, byte
// for byte (the ring holds it all), nothing lost or doubled at either switch.
func TestResumeUnderContinuousOutput(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	bin := testpeer.Options{Protocol: "porthole-binary"}
	p := h.connect("cont-a", bin)
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "cont-a", Kind: handoff.KindSocket, RingBytes: 1 << 20}, theirs)

	var want strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 {
			line := fmt.Sprintf("line-%d\n", i)
			want.WriteString(line)
			if _, err := ours.Write([]byte(line)); err != nil {
				return
			}
			if i%100 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	binaryUntil(t, p, "line-200\n")
	p.Close()
	h.waitEvent("cont-a", "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed().GetTerminalDetached() })
	q := h.connect("cont-b", bin)
	if _, err := h.client.AttachTerminal(ctxT(t), &rpcv1.AttachTerminalRequest{FromSessionId: "cont-a", ToSessionId: "cont-b"}); err != nil {
		t.Fatalf("AttachTerminal: %v", err)
	}
	got := binaryUntil(t, q, "line-2999\n")
	<-done
	if got != want.String() {
		t.Fatalf("replay+live differs from the stream: got %d bytes, want %d", len(got), want.Len())
	}
}
