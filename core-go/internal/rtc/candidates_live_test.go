package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/testpeer"
)

// TestLiveSessionRemoteCandidatesBounded: a peer that keeps trickling
// candidates to a live session is cut off at MaxRemoteCandidates; before
// the bound, pion took every one (20 000 made 18 000 goroutines).
func TestLiveSessionRemoteCandidatesBounded(t *testing.T) {
	m, err := New(config.RTC{Interfaces: []string{"lo"}, Loopback: true, MDNS: config.MDNSOff, MaxSessions: 1},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	p := testpeer.New(t, testpeer.Options{})
	if _, err := m.CreateSession(CreateRequest{SessionID: "s", OfferSDP: p.Offer(), Kind: KindTerminal}); err != nil {
		t.Fatal(err)
	}
	// TEST-NET-1 (RFC 5737): checks from the loopback-only sidecar go nowhere.
	cand := func(i int) Candidate {
		return Candidate{Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 192.0.2.1 %d typ host", i, 1024+i), SDPMid: "0"}
	}
	for i := range MaxRemoteCandidates {
		if _, err := m.AddRemoteCandidate("s", cand(i)); err != nil {
			t.Fatalf("candidate %d: %v", i, err)
		}
	}
	if _, err := m.AddRemoteCandidate("s", cand(MaxRemoteCandidates)); !errors.Is(err, ErrCandidateQueueFull) {
		t.Fatalf("candidate %d: %v, want ErrCandidateQueueFull", MaxRemoteCandidates, err)
	}
}
