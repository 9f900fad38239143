package rtc

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
)

// TURN test deadlines: the default leaves room for a UDP allocation that
// pion retransmits for several seconds before giving up; the maximum
// bounds a caller's choice.
const (
	DefaultTURNTestTimeout = 10 * time.Second
	MaxTURNTestTimeout     = 30 * time.Second
)

// TURNTestResult is what one TURN test gathered.
type TURNTestResult struct {
	Relays   []CandidateInfo // the relay candidates gathered
	Error    string          // pion's last error for one of the servers, when none
	TimedOut bool            // gathering had not completed by the deadline
	Elapsed  time.Duration
}

// TestTURN gathers with relayed candidates only on a throwaway peer
// connection (a data channel so that there is something to gather for, no
// remote peer) until gathering completes, timeout passes or ctx ends.
func (m *Manager) TestTURN(ctx context.Context, servers []config.ICEServer, timeout time.Duration) (TURNTestResult, error) {
	for _, s := range servers {
		if len(s.URLs) == 0 {
			return TURNTestResult{}, fmt.Errorf("%w: no URLs", ErrBadICEServer)
		}
		for _, u := range s.URLs {
			if err := config.ValidateICEURL(u, s.Username, s.Credential); err != nil {
				return TURNTestResult{}, fmt.Errorf("%w: %v", ErrBadICEServer, err)
			}
		}
	}
	if !hasTURN(servers) {
		return TURNTestResult{}, fmt.Errorf("%w: no turn: or turns: server to test", ErrBadICEServer)
	}
	if timeout <= 0 {
		timeout = DefaultTURNTestTimeout
	}
	timeout = min(timeout, MaxTURNTestTimeout)
	ice := iceServers(servers)
	start := time.Now()
	pc, err := m.api.NewPeerConnection(webrtc.Configuration{ICEServers: ice, ICETransportPolicy: webrtc.ICETransportPolicyRelay})
	if err != nil {
		return TURNTestResult{}, fmt.Errorf("new peer connection: %w", err)
	}
	defer func() {
		if err := pc.Close(); err != nil {
			m.log.Debug("close TURN test peer connection", "err", err)
		}
	}()
	if _, err := pc.CreateDataChannel("turn-test", nil); err != nil {
		return TURNTestResult{}, fmt.Errorf("data channel: %w", err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return TURNTestResult{}, fmt.Errorf("offer: %w", err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return TURNTestResult{}, fmt.Errorf("set local description: %w", err)
	}
	var res TURNTestResult
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		res.TimedOut = true
	case <-ctx.Done():
		res.TimedOut = true
	}
	res.Elapsed = time.Since(start)
	for _, v := range pc.GetStats() {
		if c, ok := v.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeLocalCandidate &&
			c.CandidateType == webrtc.ICECandidateTypeRelay {
			res.Relays = append(res.Relays, candidateInfo(c))
		}
	}
	if len(res.Relays) == 0 {
		res.Error = m.turnErrors.since(start, turnAddresses(turnURLs(ice)))
	}
	sortCandidates(res.Relays)
	m.log.Info("TURN test", "relays", len(res.Relays), "timed_out", res.TimedOut, "elapsed", res.Elapsed.Round(time.Millisecond))
	return res, nil
}
