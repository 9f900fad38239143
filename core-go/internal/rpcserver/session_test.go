package rpcserver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/testpeer"
)

func TestCreateSessionErrors(t *testing.T) {
	cfg := loopbackRTC()
	cfg.MaxSessions = 1
	h := newHarness(t, cfg)
	offer := testpeer.New(t, testpeer.Options{}).Offer()

	for _, c := range []struct {
		name string
		req  *rpcv1.CreateSessionRequest
		code codes.Code
	}{
		{"malformed sdp", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: "v=0\r\nthis is not sdp", Kind: "terminal"}, codes.InvalidArgument},
		{"empty sdp", &rpcv1.CreateSessionRequest{SessionId: "a", Kind: "terminal"}, codes.InvalidArgument},
		{"no data section", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", Kind: "terminal"}, codes.InvalidArgument},
		{"offer too large", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: offer + strings.Repeat("a=x\r\n", 14000), Kind: "terminal"}, codes.InvalidArgument},
		{"kind", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: offer, Kind: "screen"}, codes.InvalidArgument},
		{"empty id", &rpcv1.CreateSessionRequest{OfferSdp: offer, Kind: "terminal"}, codes.InvalidArgument},
		{"bad id", &rpcv1.CreateSessionRequest{SessionId: "a/b", OfferSdp: offer, Kind: "terminal"}, codes.InvalidArgument},
		{"long id", &rpcv1.CreateSessionRequest{SessionId: strings.Repeat("a", 129), OfferSdp: offer, Kind: "terminal"}, codes.InvalidArgument},
		{"bad ice server", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: offer, Kind: "terminal",
			IceServers: []*rpcv1.IceServer{{Urls: []string{"http://x"}}}}, codes.InvalidArgument},
		{"relay only without turn", &rpcv1.CreateSessionRequest{SessionId: "a", OfferSdp: offer, Kind: "terminal",
			RelayOnly: true, IceServers: []*rpcv1.IceServer{{Urls: []string{"stun:127.0.0.1:3478"}}}}, codes.InvalidArgument},
	} {
		_, err := h.client.CreateSession(ctxT(t), c.req)
		if status.Code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
		if c.name == "malformed sdp" && !strings.Contains(status.Convert(err).Message(), "SDP") {
			t.Errorf("malformed sdp message %q does not say SDP", status.Convert(err).Message())
		}
	}

	if _, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{SessionId: "one", OfferSdp: offer, Kind: "terminal"}); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{SessionId: "one", OfferSdp: offer, Kind: "terminal"})
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("duplicate: %v", err)
	}
	offer2 := testpeer.New(t, testpeer.Options{}).Offer()
	_, err = h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{SessionId: "two", OfferSdp: offer2, Kind: "terminal"})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("max sessions: %v", err)
	}
	if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "one"}); err != nil {
		t.Fatal(err)
	}
	if reason := h.waitClosed("one"); reason != "closed_by_agent" {
		t.Errorf("reason %q", reason)
	}
	_, err = h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "one"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("second close: %v", err)
	}
}

func TestEarlyCandidatesAreApplied(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := testpeer.New(t, testpeer.Options{})
	offer := p.Offer()
	// Trickle every peer candidate before the session exists.
	n := 0
	for c := range p.Candidates {
		resp, err := h.client.AddRemoteCandidate(ctxT(t), &rpcv1.AddRemoteCandidateRequest{
			SessionId: "early", Candidate: &rpcv1.IceCandidate{Candidate: c, SdpMid: "0", SdpMlineIndex: 0},
		})
		if err != nil || !resp.GetQueued() {
			t.Fatalf("AddRemoteCandidate: %v queued=%v", err, resp.GetQueued())
		}
		if c == "" {
			break
		}
		n++
	}
	if n == 0 {
		t.Fatal("test peer gathered no candidate")
	}
	resp, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{SessionId: "early", OfferSdp: offer, Kind: "terminal"})
	if err != nil {
		t.Fatal(err)
	}
	// The sidecar's candidates are not given to the peer: the connection
	// can only come from the queued candidates (the peer learns the
	// sidecar's address from its checks).
	p.Answer(resp.GetAnswerSdp())
	p.WaitOpen()
	h.waitEvent("early", "ice connected", func(e *rpcv1.SessionEvent) bool { return e.GetIceState() == "connected" })

	// Bad candidates are refused.
	_, err = h.client.AddRemoteCandidate(ctxT(t), &rpcv1.AddRemoteCandidateRequest{
		SessionId: "early", Candidate: &rpcv1.IceCandidate{Candidate: "candidate:garbage"},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad candidate: %v", err)
	}
	_, err = h.client.AddRemoteCandidate(ctxT(t), &rpcv1.AddRemoteCandidateRequest{SessionId: "early"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("no candidate: %v", err)
	}
}

func TestEarlyCandidateQueueBounded(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	c := &rpcv1.IceCandidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", SdpMid: "0"}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = h.client.AddRemoteCandidate(ctxT(t), &rpcv1.AddRemoteCandidateRequest{SessionId: "never", Candidate: c})
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("queue not bounded: %v", err)
	}
}

func TestClosePaths(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	before := goleak.IgnoreCurrent() // the sidecar and the watch stream

	t.Run("peer close message", func(t *testing.T) {
		p := h.connect("close-msg", testpeer.Options{})
		a, _ := h.attach("close-msg")
		p.SendText(`{"type":"input","data":"bye"}`)
		p.SendText(`{"type":"close"}`)
		if in := a.next().GetInput(); string(in) != "bye" {
			t.Fatalf("input %q", in)
		}
		if f := a.next(); f.GetClose().GetReason() != "peer_closed" {
			t.Fatalf("frame %v, want close peer_closed", f)
		}
		if r := h.waitClosed("close-msg"); r != "peer_closed" {
			t.Fatalf("reason %q", r)
		}
		if code := a.end(); code != codes.OK {
			t.Fatalf("stream ended with %s", code)
		}
	})

	t.Run("peer connection closed", func(t *testing.T) {
		p := h.connect("close-pc", testpeer.Options{})
		a, _ := h.attach("close-pc")
		p.Close()
		if r := h.waitClosed("close-pc"); r != "peer_closed" {
			t.Fatalf("reason %q", r)
		}
		if f := a.next(); f.GetClose().GetReason() != "peer_closed" {
			t.Fatalf("frame %v", f)
		}
	})

	t.Run("close session", func(t *testing.T) {
		p := h.connect("close-rpc", testpeer.Options{})
		a, _ := h.attach("close-rpc")
		a.output([]byte("last words"))
		a.exit(0)
		if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "close-rpc"}); err != nil {
			t.Fatal(err)
		}
		if r := h.waitClosed("close-rpc"); r != "closed_by_agent" {
			t.Fatalf("reason %q", r)
		}
		// The flush delivered everything before the channel closed.
		if m := decode(t, p.Next()); m.Type != "output" || m.Data != "last words" {
			t.Fatalf("%+v", m)
		}
		if m := decode(t, p.Next()); m.Type != "exit" {
			t.Fatalf("%+v", m)
		}
		select {
		case <-p.Closed:
		case <-time.After(wait):
			t.Fatal("peer channel not closed")
		}
		if f := a.next(); f.GetClose().GetReason() != "closed_by_agent" {
			t.Fatalf("frame %v", f)
		}
		// No event follows closed.
		evs := h.eventsOf("close-rpc")
		if evs[len(evs)-1].GetClosed() == nil {
			t.Fatalf("events after closed: %v", evs)
		}
	})

	t.Run("agent half-close then close session", func(t *testing.T) {
		p := h.connect("half", testpeer.Options{})
		a, _ := h.attach("half")
		a.output([]byte("bye\r\n"))
		a.exit(130)
		if err := a.stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		// The sidecar drains the channel, then ends the stream.
		if code := a.end(); code != codes.OK {
			t.Fatalf("stream ended with %s", code)
		}
		if m := decode(t, p.Next()); m.Type != "output" || m.Data != "bye\r\n" {
			t.Fatalf("%+v", m)
		}
		if m := decode(t, p.Next()); m.Type != "exit" || m.Code != float64(130) {
			t.Fatalf("%+v", m)
		}
		start := time.Now()
		if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "half", Reason: "exit"}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("CloseSession after half-close took %v", d)
		}
		if r := h.waitClosed("half"); r != "exit" {
			t.Fatalf("reason %q", r)
		}
	})

	if n := h.mgr.Len(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	// Every goroutine of the three sessions (pion's, the Terminal
	// handlers', the bridges') is gone once they closed.
	goleak.VerifyNone(t, before)
}

func TestAttachErrors(t *testing.T) {
	h := newHarness(t, loopbackRTC())

	ctx := ctxT(t)
	stream, err := h.client.Terminal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&rpcv1.TerminalFromAgent{Frame: &rpcv1.TerminalFromAgent_Output{Output: []byte("x")}})
	if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("output first: %v", err)
	}

	if code := h.openTerminal("nope").end(); code != codes.NotFound {
		t.Errorf("unknown session: %s", code)
	}

	h.connect("att", testpeer.Options{})
	a, _ := h.attach("att")
	if code := h.openTerminal("att").end(); code != codes.AlreadyExists {
		t.Errorf("second attach: %s", code)
	}
	a.cancel()
	a.end()
	// After the stream ended the bridge is spent.
	deadline := time.Now().Add(wait)
	for {
		code := h.openTerminal("att").end()
		if code == codes.FailedPrecondition {
			break
		}
		if code != codes.AlreadyExists || time.Now().After(deadline) {
			t.Fatalf("attach after detach: %s", code)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Oversized output frame.
	h.connect("big", testpeer.Options{})
	b, _ := h.attach("big")
	b.output(make([]byte, 64<<10+1))
	if code := b.end(); code != codes.InvalidArgument {
		t.Errorf("oversized output: %s", code)
	}
}

func TestExtraChannelRefused(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := testpeer.New(t, testpeer.Options{ExtraChannel: "sneaky"})
	h.create("extra", p)
	p.WaitOpen()
	a, _ := h.attach("extra")
	p.SendText(`{"type":"input","data":"ok"}`)
	if in := a.next().GetInput(); string(in) != "ok" {
		t.Fatalf("input %q", in)
	}
	for _, e := range h.eventsOf("extra") {
		if l := e.GetChannelOpened().GetLabel(); l != "" && l != "terminal" {
			t.Fatalf("channel %q opened", l)
		}
	}
}

func TestGetStats(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("stats", testpeer.Options{})
	a, _ := h.attach("stats")
	a.output([]byte("hello"))
	p.Next()
	h.waitEvent("stats", "peer connected", func(e *rpcv1.SessionEvent) bool { return e.GetPeerState() == "connected" })

	resp, err := h.client.GetStats(ctxT(t), &rpcv1.GetStatsRequest{SessionId: "stats"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetSessions()) != 1 {
		t.Fatalf("%d sessions", len(resp.GetSessions()))
	}
	st := resp.GetSessions()[0]
	if st.GetSessionId() != "stats" || st.GetKind() != "terminal" || st.GetPeerState() != "connected" || st.GetIceState() != "connected" {
		t.Fatalf("stats %v", st)
	}
	pair := st.GetSelectedPair()
	if pair == nil || pair.GetLocalType() != "host" || !strings.HasPrefix(pair.GetLocalAddress(), "127.") ||
		!strings.HasPrefix(pair.GetRemoteAddress(), "127.") || pair.GetProtocol() != "udp" {
		t.Fatalf("pair %v", pair)
	}
	if st.GetBytesSent() == 0 || st.GetBytesReceived() == 0 || st.GetRttMs() < 0 || st.GetAgeMs() < 0 {
		t.Fatalf("totals %v", st)
	}
	if len(st.GetChannels()) != 1 {
		t.Fatalf("channels %v", st.GetChannels())
	}
	ch := st.GetChannels()[0]
	if ch.GetLabel() != "terminal" || ch.GetState() != "open" || ch.GetMessagesSent() == 0 || ch.GetBytesSent() == 0 {
		t.Fatalf("channel %v", ch)
	}

	all, err := h.client.GetStats(ctxT(t), &rpcv1.GetStatsRequest{})
	if err != nil || len(all.GetSessions()) != 1 {
		t.Fatalf("all: %v %v", all, err)
	}
	if _, err := h.client.GetStats(ctxT(t), &rpcv1.GetStatsRequest{SessionId: "missing"}); status.Code(err) != codes.NotFound {
		t.Fatalf("missing: %v", err)
	}
}

func TestShutdownClosesSessions(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	var agents []*agent
	for i := range 2 {
		id := fmt.Sprint("shut-", i)
		h.connect(id, testpeer.Options{})
		a, _ := h.attach(id)
		agents = append(agents, a)
	}
	if err := h.mgr.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for i, a := range agents {
		if r := h.waitClosed(fmt.Sprint("shut-", i)); r != "sidecar_shutdown" {
			t.Fatalf("reason %q", r)
		}
		if f := a.next(); f.GetClose().GetReason() != "sidecar_shutdown" {
			t.Fatalf("frame %v", f)
		}
	}
	select {
	case <-h.ended:
	case <-time.After(wait):
		t.Fatal("watch stream did not end")
	}
	if _, err := h.client.CreateSession(ctxT(t), &rpcv1.CreateSessionRequest{SessionId: "late", OfferSdp: "v=0", Kind: "terminal"}); status.Code(err) == codes.OK {
		t.Fatal("create after shutdown")
	}
}
