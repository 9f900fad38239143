package rpcserver

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/testpeer"
)

// A viewer on a peer connection of its own gets the owner's ring, then the
// same live output; its keys reach the process only while it has control,
// and the owner's only while it has not; the refusals are counted.
func TestWatchTerminalAndControl(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	bin := testpeer.Options{Protocol: "porthole-binary"}
	owner := h.connect("share-own", bin)
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "share-own", Kind: handoff.KindSocket, RingBytes: 1024}, theirs)
	if _, err := ours.Write([]byte("before;")); err != nil {
		t.Fatal(err)
	}
	binaryUntil(t, owner, "before;")

	viewer := h.connect("share-view", bin)
	if _, err := h.client.WatchTerminal(ctxT(t), &rpcv1.WatchTerminalRequest{SessionId: "share-own", ViewerSessionId: "share-view"}); err != nil {
		t.Fatalf("WatchTerminal: %v", err)
	}
	if m := viewer.Next(); !m.IsText || !strings.Contains(string(m.Data), "view_only") {
		t.Fatalf("viewer's first message %q, want the view_only error", m.Data)
	}
	if got := binaryUntil(t, viewer, "before;"); got != "before;" {
		t.Fatalf("viewer's replay %q", got)
	}
	if _, err := ours.Write([]byte("live;")); err != nil {
		t.Fatal(err)
	}
	binaryUntil(t, owner, "live;")
	binaryUntil(t, viewer, "live;")

	viewer.Send([]byte("from-viewer;"))
	owner.Send([]byte("from-owner;"))
	if got := readUntil(t, ours, "from-owner;"); strings.Contains(got, "from-viewer") {
		t.Fatalf("the viewer's input reached the process: %q", got)
	}
	waitRefused(t, h, "share-view", 1)

	if _, err := h.client.SetTerminalControl(ctxT(t), &rpcv1.SetTerminalControlRequest{SessionId: "share-own", ControllerSessionId: "share-view"}); err != nil {
		t.Fatalf("SetTerminalControl: %v", err)
	}
	owner.Send([]byte("owner-dropped;"))
	waitRefused(t, h, "share-own", 1)
	viewer.Send([]byte("viewer-types;"))
	if got := readUntil(t, ours, "viewer-types;"); strings.Contains(got, "owner-dropped") {
		t.Fatalf("the owner's input reached the process without control: %q", got)
	}
	if _, err := h.client.SetTerminalControl(ctxT(t), &rpcv1.SetTerminalControlRequest{SessionId: "share-own"}); err != nil {
		t.Fatalf("take back: %v", err)
	}
	owner.Send([]byte("owner-back;"))
	readUntil(t, ours, "owner-back;")

	// Refusals: control to a session that does not watch; a viewer of nothing shareable.
	_, err := h.client.SetTerminalControl(ctxT(t), &rpcv1.SetTerminalControlRequest{SessionId: "share-own", ControllerSessionId: "share-own"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("control to the owner's own session: %v, want NotFound", err)
	}
	third := h.connect("share-third", bin)
	defer third.Close()
	_, err = h.client.WatchTerminal(ctxT(t), &rpcv1.WatchTerminalRequest{SessionId: "share-view", ViewerSessionId: "share-third"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("watching a viewer: %v, want NotFound", err)
	}
	_, err = h.client.WatchTerminal(ctxT(t), &rpcv1.WatchTerminalRequest{SessionId: "share-own", ViewerSessionId: "share-own"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("the owner watching itself: %v, want FailedPrecondition", err)
	}
}

// waitRefused waits until porthole-core counted n refused input messages of id.
func waitRefused(t *testing.T, h *harness, id string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := h.client.GetStats(ctxT(t), &rpcv1.GetStatsRequest{SessionId: id})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetSessions()[0].GetTerminal().GetInputRefused(); got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: input_refused never reached %d", id, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
