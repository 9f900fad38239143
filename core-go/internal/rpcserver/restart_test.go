package rpcserver

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/screen/xvfbtest"
	"porthole/core-go/internal/testpeer"
)

// restartICE makes the peer's ICE restart offer, sends it through RestartIce
// and applies the answer, with trickle ICE both ways as for the first offer.
func (h *harness) restartICE(id string, p *testpeer.Peer) {
	h.t.Helper()
	h.mu.Lock()
	h.links[id].answered = false // the new generation's candidates wait for the answer
	h.mu.Unlock()
	offer, err := p.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := p.PC.SetLocalDescription(offer); err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.client.RestartIce(ctxT(h.t), &rpcv1.RestartIceRequest{SessionId: id, OfferSdp: offer.SDP})
	if err != nil {
		h.t.Fatalf("RestartIce: %v", err)
	}
	h.answered(id, p, resp.GetAnswerSdp())
}

func iceStates(h *harness, id string) []string {
	var out []string
	for _, e := range h.eventsOf(id) {
		if s := e.GetIceState(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// A screen's ICE restart over gRPC: the same peer connection answers, ICE
// connects again, and a keyframe is sent at once (the restart asked for
// it; the peer sent no PLI).
func TestScreenICERestartSendsAKeyframe(t *testing.T) {
	d := xvfbtest.Start(t, 1280, 720)
	h := newHarness(t, loopbackRTC())
	p := newScreenPeer(t)
	h.createWith("scr", p.Peer, &rpcv1.CreateSessionRequest{Kind: "screen", Screen: &rpcv1.ScreenOptions{
		Display: d, Width: 640, Height: 360, Fps: 30,
	}})
	p.WaitOpen()
	waitUntil(t, "video packets", func() bool { return p.packets.Load() > 0 })
	time.Sleep(600 * time.Millisecond) // past the first keyframe's rate limit
	before := h.screenStats("scr")
	connectedBefore := strings.Count(strings.Join(iceStates(h, "scr"), " "), "connected")

	h.restartICE("scr", p.Peer)
	waitUntil(t, "ICE connected again", func() bool {
		return strings.Count(strings.Join(iceStates(h, "scr"), " "), "connected") > connectedBefore
	})
	waitUntil(t, "a keyframe after the restart", func() bool {
		st := h.screenStats("scr")
		return st.GetKeyframeRequests() > before.GetKeyframeRequests() && st.GetKeyframes() > before.GetKeyframes()
	})
	n := p.packets.Load()
	xvfbtest.Fill(t, d, "#0000ff")
	waitUntil(t, "video after the restart", func() bool { return p.packets.Load() > n })
	if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "scr"}); err != nil {
		t.Fatal(err)
	}
	if r := h.waitClosed("scr"); r != "closed_by_agent" {
		t.Fatalf("closed with %s", r)
	}
}

func TestRestartIceRefusals(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	_, err := h.client.RestartIce(ctxT(t), &rpcv1.RestartIceRequest{SessionId: "none", OfferSdp: "v=0"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown session: %v", err)
	}
	_, err = h.client.RestartIce(ctxT(t), &rpcv1.RestartIceRequest{SessionId: "bad id!", OfferSdp: "v=0"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad id: %v", err)
	}
	h.connect("t", testpeer.Options{})
	_, err = h.client.RestartIce(ctxT(t), &rpcv1.RestartIceRequest{SessionId: "t", OfferSdp: "not an offer"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad offer: %v", err)
	}
	_, err = h.client.RestartIce(ctxT(t), &rpcv1.RestartIceRequest{SessionId: "t", OfferSdp: strings.Repeat("a", 65<<10)})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("large offer: %v", err)
	}
}
