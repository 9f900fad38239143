package rpcserver

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/testpeer"
)

// A view-only handoff: the peer is told first, its input never reaches the
// descriptor (but counts as activity), output flows; the agent ends it by
// policy with an error and no exit.
func TestHandoffViewOnlyAndEndWithoutExit(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-view", testpeer.Options{})
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "fd-view", Kind: handoff.KindSocket, Preread: []byte("pre"), ViewOnly: true}, theirs)
	if m := decode(t, p.Next()); m.Type != "error" || m.Code != "view_only" {
		t.Fatalf("first message %+v, want the view_only error", m)
	}
	p.SendText(`{"type":"input","data":"rm -rf /\r"}`)
	if got := jsonOutput(t, p, 3); got != "pre" {
		t.Fatalf("output %q", got)
	}
	// Input sent after the refusal must not arrive; a marker written by the
	// process afterwards must (so we know the input had its chance).
	p.SendText(`{"type":"ping"}`)
	if m := decode(t, p.Next()); m.Type != "pong" {
		t.Fatalf("ping answered with %+v", m)
	}
	if err := ours.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _ := ours.Read(make([]byte, 64)); n != 0 {
		t.Fatalf("view-only input reached the descriptor (%d bytes)", n)
	}
	if act := h.stats("fd-view").GetTerminal(); act.GetInputBytes() != 9 {
		t.Fatalf("activity %v, want the dropped input counted", act)
	}

	_, err := h.client.EndTerminal(ctxT(t), &rpcv1.EndTerminalRequest{SessionId: "fd-view", NoExit: true})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no_exit without an error: %v", err)
	}
	_, err = h.client.EndTerminal(ctxT(t), &rpcv1.EndTerminalRequest{
		SessionId: "fd-view", NoExit: true, Error: &rpcv1.Error{Code: "idle_timeout", Message: "idle"},
	})
	if err != nil {
		t.Fatalf("EndTerminal: %v", err)
	}
	if m := decode(t, p.Next()); m.Type != "error" || m.Code != "idle_timeout" {
		t.Fatalf("message %+v, want the idle_timeout error", m)
	}
	h.closeSession("fd-view", "idle_timeout")
	// The totals come with the close, for the agent's audit.
	closed := h.waitEvent("fd-view", "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed() != nil })
	if act := closed.GetClosed().GetTerminal(); act.GetInputBytes() != 9 || act.GetOutputBytes() != 3 || !act.GetHandedOver() {
		t.Fatalf("closed with activity %v", act)
	}
}

// A shell that could not start: the agent reports it on a channel that got
// no descriptor, and nothing can attach afterwards.
func TestEndTerminalWithoutHandoff(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-none", testpeer.Options{})
	_, err := h.client.EndTerminal(ctxT(t), &rpcv1.EndTerminalRequest{SessionId: "fd-none", ExitCode: 1})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("EndTerminal with an exit and no descriptor: %v", err)
	}
	_, err = h.client.EndTerminal(ctxT(t), &rpcv1.EndTerminalRequest{
		SessionId: "fd-none", NoExit: true, Error: &rpcv1.Error{Code: "exec_failed", Message: "no docker"},
	})
	if err != nil {
		t.Fatalf("EndTerminal: %v", err)
	}
	if m := decode(t, p.Next()); m.Type != "error" || m.Code != "exec_failed" {
		t.Fatalf("message %+v", m)
	}
	_, theirs := streamPair(t)
	t.Cleanup(func() { unix.Close(theirs) })
	if r := h.handoff(handoff.Header{Version: handoff.Version, SessionID: "fd-none", Kind: handoff.KindSocket}, theirs); r.Code != handoff.CodeAlreadyAttached {
		t.Fatalf("handoff after the end: %+v", r)
	}
	h.closeSession("fd-none", "exec_failed")
}
