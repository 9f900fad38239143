package rpcserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/config"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/testpeer"
)

// leakSettle bounds how long TestMain lets sessions finish closing in the
// background before it looks for leaked goroutines: a screen session's X
// capture close (a cgo call) can take seconds on a loaded 2-core machine. A
// real leak is still there after it.
const leakSettle = 30 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(leakSettle)
		for goleak.Find() != nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// wait bounds every wait in these tests; generous for -race on 2 cores.
const wait = testpeer.Timeout

func testLogger() *slog.Logger {
	if os.Getenv("PORTHOLE_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// loopbackRTC is the sidecar config of the tests: loopback only.
func loopbackRTC() config.RTC {
	return config.RTC{
		Interfaces:  []string{"lo"},
		IPRanges:    nil,
		Loopback:    true,
		MDNS:        config.MDNSOff,
		MaxSessions: 8,
	}
}

// harness is a sidecar (rtc manager + gRPC on a unix socket in TempDir)
// and an agent-side client with one WatchEvents stream.
type harness struct {
	t      *testing.T
	mgr    *rtc.Manager
	client rpcv1.SidecarClient
	fdSock string // the descriptor handoff socket

	mu     sync.Mutex
	events map[string][]*rpcv1.SessionEvent
	links  map[string]*peerLink
	notify chan struct{} // pulsed on every event
	ended  chan struct{} // the watch stream ended
	endErr error
}

// peerLink forwards the sidecar's local candidates to a test peer once the
// peer has the answer (as the agent/browser must).
type peerLink struct {
	peer     *testpeer.Peer
	answered bool
	pending  []string
}

func newHarness(t *testing.T, cfg config.RTC) *harness {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "core.sock")
	mgr, err := rtc.New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := NewGRPCServer(New(mgr, testLogger()))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	// The test process plays the agent: it is the one peer allowed.
	fdSock := sock + config.FDListenSuffix
	fdLis, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: fdSock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	hs := handoff.New(mgr, handoff.Policy{UID: os.Getuid(), PIDs: []int{os.Getpid()}}, testLogger())
	hsServed := make(chan struct{})
	go func() {
		defer close(hsServed)
		_ = hs.Serve(fdLis)
	}()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t:      t,
		mgr:    mgr,
		client: rpcv1.NewSidecarClient(conn),
		fdSock: fdSock,
		events: make(map[string][]*rpcv1.SessionEvent),
		links:  make(map[string]*peerLink),
		notify: make(chan struct{}, 1),
		ended:  make(chan struct{}),
	}
	wctx, wcancel := context.WithCancel(context.Background())
	ws, err := h.client.WatchEvents(wctx, &rpcv1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The server sends headers once the watcher is registered: after this no
	// event can be missed.
	if _, err := ws.Header(); err != nil {
		t.Fatal(err)
	}
	go h.watch(ws)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = mgr.Shutdown(ctx)
		hs.Close()
		<-hsServed
		select {
		case <-h.ended:
		case <-time.After(wait):
			t.Error("watch stream did not end at shutdown")
		}
		wcancel()
		gs.Stop()
		<-served
		conn.Close()
	})
	return h
}

func (h *harness) watch(ws grpc.ServerStreamingClient[rpcv1.SessionEvent]) {
	defer close(h.ended)
	for {
		e, err := ws.Recv()
		if err != nil {
			h.mu.Lock()
			if err != io.EOF {
				h.endErr = err
			}
			h.mu.Unlock()
			h.pulse()
			return
		}
		h.mu.Lock()
		h.events[e.GetSessionId()] = append(h.events[e.GetSessionId()], e)
		link := h.links[e.GetSessionId()]
		var forward []string
		if c := e.GetLocalCandidate(); c != nil && link != nil && c.GetCandidate() != "" {
			if link.answered {
				forward = append(forward, c.GetCandidate())
			} else {
				link.pending = append(link.pending, c.GetCandidate())
			}
		}
		h.mu.Unlock()
		for _, c := range forward {
			_ = link.peer.PC.AddICECandidate(webrtcInit(c))
		}
		h.pulse()
	}
}

func (h *harness) pulse() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

// waitEvent waits for an event of session id matching pred.
func (h *harness) waitEvent(id string, what string, pred func(*rpcv1.SessionEvent) bool) *rpcv1.SessionEvent {
	h.t.Helper()
	deadline := time.After(wait)
	for {
		h.mu.Lock()
		for _, e := range h.events[id] {
			if pred(e) {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("session %s: no %s event; got %v", id, what, h.eventsOf(id))
			return nil
		}
	}
}

func (h *harness) eventsOf(id string) []*rpcv1.SessionEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*rpcv1.SessionEvent(nil), h.events[id]...)
}

// waitClosed waits for the closed event and returns its reason.
func (h *harness) waitClosed(id string) string {
	h.t.Helper()
	e := h.waitEvent(id, "closed", func(e *rpcv1.SessionEvent) bool { return e.GetClosed() != nil })
	return e.GetClosed().GetReason()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// create sends the peer's offer and wires trickle ICE both ways.
func (h *harness) create(id string, p *testpeer.Peer) {
	h.t.Helper()
	h.createWith(id, p, &rpcv1.CreateSessionRequest{Kind: "terminal"})
}

// createWith is create with a request of the caller's (kind, screen
// options); id and offer are filled in.
func (h *harness) createWith(id string, p *testpeer.Peer, req *rpcv1.CreateSessionRequest) {
	h.t.Helper()
	h.mu.Lock()
	h.links[id] = &peerLink{peer: p}
	h.mu.Unlock()
	req.SessionId, req.OfferSdp = id, p.Offer()
	resp, err := h.client.CreateSession(ctxT(h.t), req)
	if err != nil {
		h.t.Fatalf("CreateSession: %v", err)
	}
	h.answered(id, p, resp.GetAnswerSdp())
}

func (h *harness) forwardPeerCandidates(id string, p *testpeer.Peer) {
	for {
		select {
		case c := <-p.Candidates:
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			_, _ = h.client.AddRemoteCandidate(ctx, &rpcv1.AddRemoteCandidateRequest{
				SessionId: id, Candidate: &rpcv1.IceCandidate{Candidate: c, SdpMid: "0"},
			})
			cancel()
			if c == "" {
				return
			}
		case <-time.After(wait):
			return
		}
	}
}

// connect creates a session for a new test peer and waits for its channel.
func (h *harness) connect(id string, opt testpeer.Options) *testpeer.Peer {
	h.t.Helper()
	p := testpeer.New(h.t, opt)
	h.create(id, p)
	p.WaitOpen()
	return p
}

// agent is the agent side of one Terminal stream.
type agent struct {
	t      *testing.T
	stream grpc.BidiStreamingClient[rpcv1.TerminalFromAgent, rpcv1.TerminalFromPeer]
	frames chan *rpcv1.TerminalFromPeer // closed when the stream ends
	err    error                        // the stream's end; read after frames closed
	cancel context.CancelFunc
}

// openTerminal opens a Terminal stream and sends attach.
func (h *harness) openTerminal(id string) *agent {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := h.client.Terminal(ctx)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	a := &agent{t: h.t, stream: stream, frames: make(chan *rpcv1.TerminalFromPeer, 1024), cancel: cancel}
	h.t.Cleanup(cancel)
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				a.err = err
				close(a.frames)
				return
			}
			a.frames <- f
		}
	}()
	if err := stream.Send(&rpcv1.TerminalFromAgent{Frame: &rpcv1.TerminalFromAgent_Attach{Attach: &rpcv1.Attach{SessionId: id}}}); err != nil {
		h.t.Fatal(err)
	}
	return a
}

// attach opens a Terminal stream and waits for attached.
func (h *harness) attach(id string) (*agent, *rpcv1.Attached) {
	h.t.Helper()
	a := h.openTerminal(id)
	f := a.next()
	if f.GetAttached() == nil {
		h.t.Fatalf("first frame %v, want attached", f)
	}
	return a, f.GetAttached()
}

func (a *agent) next() *rpcv1.TerminalFromPeer {
	a.t.Helper()
	select {
	case f, ok := <-a.frames:
		if !ok {
			a.t.Fatalf("terminal stream ended: %v", a.err)
		}
		return f
	case <-time.After(wait):
		a.t.Fatal("no frame from the sidecar")
	}
	return nil
}

// end waits for the stream's end and returns its status code.
func (a *agent) end() codes.Code {
	a.t.Helper()
	for {
		select {
		case _, ok := <-a.frames:
			if ok {
				continue
			}
			if a.err == io.EOF {
				return codes.OK
			}
			return status.Code(a.err)
		case <-time.After(wait):
			a.t.Fatal("terminal stream did not end")
			return codes.Unknown
		}
	}
}

func (a *agent) output(b []byte) {
	a.t.Helper()
	if err := a.stream.Send(&rpcv1.TerminalFromAgent{Frame: &rpcv1.TerminalFromAgent_Output{Output: b}}); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agent) exit(code int32) {
	a.t.Helper()
	if err := a.stream.Send(&rpcv1.TerminalFromAgent{Frame: &rpcv1.TerminalFromAgent_Exit{Exit: &rpcv1.Exit{Code: code}}}); err != nil {
		a.t.Fatal(err)
	}
}

func webrtcInit(c string) webrtc.ICECandidateInit { return webrtc.ICECandidateInit{Candidate: c} }

// answered applies the answer to the peer, then the candidates porthole-core
// sent before it (held until now), and forwards the peer's own from now on.
func (h *harness) answered(id string, p *testpeer.Peer, answer string) {
	p.Answer(answer)
	h.mu.Lock()
	link := h.links[id]
	link.answered = true
	pending := link.pending
	link.pending = nil
	h.mu.Unlock()
	for _, c := range pending {
		p.AddCandidate(c)
	}
	go h.forwardPeerCandidates(id, p)
}
