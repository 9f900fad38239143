package rtc

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/testpeer"
)

// Short ICE timeouts so that a session without connectivity fails in about
// a second instead of pion's 30 s.
const (
	testDisconnectedTimeout = 300 * time.Millisecond
	testFailedTimeout       = time.Second
	testKeepAlive           = 100 * time.Millisecond
)

func TestICEFailureClosesSession(t *testing.T) {
	m, err := newManager(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 4},
		slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(se *webrtc.SettingEngine) {
			se.SetICETimeouts(testDisconnectedTimeout, testFailedTimeout, testKeepAlive)
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	w, err := m.Watch()
	if err != nil {
		t.Fatal(err)
	}

	p := testpeer.New(t, testpeer.Options{})
	answer, err := m.CreateSession(CreateRequest{SessionID: "dead", OfferSDP: p.Offer(), Kind: KindTerminal})
	if err != nil {
		t.Fatal(err)
	}
	p.Answer(answer)
	// The only remote candidate leads nowhere, and the peer gets none of
	// ours: ICE cannot succeed.
	if _, err := m.AddRemoteCandidate("dead", Candidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", SDPMid: "0"}); err != nil {
		t.Fatal(err)
	}

	var states []string
	deadline := time.After(testpeer.Timeout)
	for {
		select {
		case e := <-w.Events():
			switch e.Kind {
			case EventICEState:
				states = append(states, e.State)
			case EventClosed:
				if e.Reason != ReasonICEFailed {
					t.Fatalf("closed with %q (%s), ICE states %v", e.Reason, e.Message, states)
				}
				if _, err := m.Session("dead"); err != ErrSessionNotFound {
					t.Fatalf("session still there: %v", err)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no closed event; ICE states %v", states)
		}
	}
}
