package rtc

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/testpeer"
)

func restartManager(t *testing.T) (*Manager, *Watcher) {
	t.Helper()
	m, err := New(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 2},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m.restartWait = 300 * time.Millisecond
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	w, err := m.Watch()
	if err != nil {
		t.Fatal(err)
	}
	return m, w
}

// relay carries candidates both ways between the session and the peer and
// reports every ICE state of the session, until the test ends. A peer
// candidate goes to the session under sig: a test holds it while it sends an
// offer, so that, as on an ordered signaling channel, no candidate of the new
// offer's ICE credentials arrives before the offer (pion drops those).
func relay(t *testing.T, m *Manager, w *Watcher, p *testpeer.Peer, id string, sig *sync.Mutex) <-chan string {
	states := make(chan string, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case e := <-w.Events():
				if e.SessionID != id {
					continue
				}
				switch e.Kind {
				case EventLocalCandidate:
					if e.Candidate.Candidate != "" {
						_ = p.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: e.Candidate.Candidate})
					}
				case EventICEState:
					states <- e.State
				}
			case <-done:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case c := <-p.Candidates:
				if c != "" {
					sig.Lock()
					_, _ = m.AddRemoteCandidate(id, Candidate{Candidate: c, SDPMid: "0"})
					sig.Unlock()
				}
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
	return states
}

func waitState(t *testing.T, states <-chan string, want string) {
	t.Helper()
	deadline := time.After(testpeer.Timeout)
	for {
		select {
		case st := <-states:
			if st == want {
				return
			}
		case <-deadline:
			t.Fatalf("ICE state %q not reached", want)
		}
	}
}

func ufrag(sdp string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// TestICERestartKeepsTheChannel: the peer's restart offer is answered on the
// same peer connection with new ICE credentials; ICE connects again and the
// same data channel carries on.
func TestICERestartKeepsTheChannel(t *testing.T) {
	m, w := restartManager(t)
	p := testpeer.New(t, testpeer.Options{})
	var sig sync.Mutex
	states := relay(t, m, w, p, "r", &sig)
	first, err := m.CreateSession(CreateRequest{SessionID: "r", OfferSDP: p.Offer(), Kind: KindTerminal})
	if err != nil {
		t.Fatal(err)
	}
	p.Answer(first)
	p.WaitOpen()
	waitState(t, states, "connected")

	offer, err := p.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	sig.Lock() // the restart offer reaches the session before its candidates
	if err := p.PC.SetLocalDescription(offer); err != nil {
		sig.Unlock()
		t.Fatal(err)
	}
	answer, err := m.RestartICE("r", offer.SDP)
	sig.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if ufrag(answer) == "" || ufrag(answer) == ufrag(first) {
		t.Fatalf("the answer has no new ICE credentials: %q then %q", ufrag(first), ufrag(answer))
	}
	p.Answer(answer)
	waitState(t, states, "checking")
	waitState(t, states, "connected")

	s, err := m.Session("r")
	if err != nil {
		t.Fatal(err)
	}
	// The peer's channel opens on the device's DCEP ACK, which pion sends before it
	// runs the device's OnDataChannel: wait for the device's side too.
	var dc *webrtc.DataChannel
	for deadline := time.Now().Add(5 * time.Second); dc == nil; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		dc = s.termDC
		s.mu.Unlock()
		if dc == nil && time.Now().After(deadline) {
			t.Fatal("no terminal channel")
		}
	}
	if err := dc.SendText("after-restart"); err != nil {
		t.Fatal(err)
	}
	if got := p.Next(); string(got.Data) != "after-restart" {
		t.Fatalf("got %q", got.Data)
	}
}

func TestICERestartRefusals(t *testing.T) {
	m, _ := restartManager(t)
	if _, err := m.RestartICE("nope", "v=0"); err != ErrSessionNotFound {
		t.Fatalf("unknown session: %v", err)
	}
	p := testpeer.New(t, testpeer.Options{})
	if _, err := m.CreateSession(CreateRequest{SessionID: "r", OfferSDP: p.Offer(), Kind: KindTerminal}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RestartICE("r", "not sdp"); err == nil || !strings.Contains(err.Error(), "bad offer") {
		t.Fatalf("bad SDP: %v", err)
	}
}

// TestICEFailedAfterConnectedWaitsForARestart: ICE failing on a session that
// was connected closes it only when no restart brought ICE back in time; one
// that never connected closes at once (TestICEFailureClosesSession).
func TestICEFailedAfterConnectedWaitsForARestart(t *testing.T) {
	m, w := restartManager(t)
	p := testpeer.New(t, testpeer.Options{})
	var sig sync.Mutex
	states := relay(t, m, w, p, "r", &sig)
	answer, err := m.CreateSession(CreateRequest{SessionID: "r", OfferSDP: p.Offer(), Kind: KindTerminal})
	if err != nil {
		t.Fatal(err)
	}
	p.Answer(answer)
	waitState(t, states, "connected")
	s, err := m.Session("r")
	if err != nil {
		t.Fatal(err)
	}
	// As pion reports it when the path is gone; then back (a restart that worked).
	s.onICEState(webrtc.ICEConnectionStateFailed)
	s.onICEState(webrtc.ICEConnectionStateConnected)
	time.Sleep(3 * m.restartWait)
	if _, err := m.Session("r"); err != nil {
		t.Fatalf("closed although ICE came back: %v", err)
	}
	// Failed and never back: closed once the wait is over.
	s.onICEState(webrtc.ICEConnectionStateFailed)
	if _, err := m.Session("r"); err != nil {
		t.Fatalf("closed at once: %v", err)
	}
	select {
	case <-s.closeDone:
	case <-time.After(testpeer.Timeout):
		t.Fatal("not closed after the restart wait")
	}
}
