package rtc

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
)

// ICERestartWait is how long a session whose ICE failed after it had been
// connected waits for an ICE restart (RestartICE) before it closes with
// ice_failed. pion declares ICE failed 5 s (disconnected) + 25 s (failed)
// after the last packet, so a path that is gone is given up
// 30 s + ICERestartWait after it went: a 40 s outage is survived. A
// session that never connected still closes at once when ICE fails.
const ICERestartWait = config.DefaultICERestartWait

// RestartICE applies the remote peer's ICE restart offer to the session's
// peer connection and returns the new answer (trickle ICE: the new local
// candidates follow as events once the answer is returned).
func (m *Manager) RestartICE(id, offer string) (string, error) {
	if err := ValidateSessionID(id); err != nil {
		return "", err
	}
	s, err := m.Session(id)
	if err != nil {
		return "", err
	}
	if _, err := checkOffer(offer, s.kind); err != nil {
		return "", err
	}
	answer, err := s.restartICE(offer)
	if err != nil {
		return "", err
	}
	s.markAnswered()
	s.log.Info("ICE restarted by the peer")
	return answer, nil
}

func (s *Session) restartICE(offer string) (string, error) {
	<-s.started
	s.candMu.Lock()
	defer s.candMu.Unlock()
	select {
	case <-s.closingCh:
		return "", ErrSessionNotFound
	default:
	}
	if s.pc == nil {
		return "", ErrSessionNotFound
	}
	// Candidates of the new generation wait for the new answer (markAnswered).
	s.mu.Lock()
	s.answered = false
	s.restarts++
	s.mu.Unlock()
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		s.markAnswered()
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		s.markAnswered()
		return "", fmt.Errorf("%w: cannot answer: %v", ErrBadSDP, err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		s.markAnswered()
		return "", fmt.Errorf("set local description: %w", err)
	}
	s.remotes = 0 // ICE dropped the old generation's remote candidates
	return answer.SDP, nil
}

// iceFailed closes a session that never connected at once; one that was
// connected waits ICERestartWait for a restart to bring ICE back.
func (s *Session) iceFailed(reason, message string) {
	s.mu.Lock()
	wasUp := s.everConnected
	if wasUp && s.failTimer == nil {
		s.failTimer = time.AfterFunc(s.m.restartWait, func() {
			s.mu.Lock()
			st := s.iceState
			s.failTimer = nil
			s.mu.Unlock()
			if st != webrtc.ICEConnectionStateConnected.String() && st != webrtc.ICEConnectionStateCompleted.String() {
				s.autoClose(reason, message+" (no ICE restart brought it back)")
			}
		})
	}
	s.mu.Unlock()
	if !wasUp {
		s.autoClose(reason, message)
		return
	}
	s.log.Info("ICE failed; waiting for an ICE restart", "wait", s.m.restartWait)
}

// iceConnected notes that ICE works (again); a screen gets a keyframe at
// once when its path came back, so the picture does not wait for a PLI.
func (s *Session) iceConnected() {
	s.mu.Lock()
	again := s.everConnected
	s.everConnected = true
	if s.failTimer != nil {
		s.failTimer.Stop()
		s.failTimer = nil
	}
	s.mu.Unlock()
	if again && s.screen != nil {
		s.screen.streamer.RequestKeyframe()
		s.log.Info("ICE connected again: keyframe requested")
	}
}
