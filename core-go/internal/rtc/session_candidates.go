package rtc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// answered releases the local candidates gathered before the answer was
func (s *Session) markAnswered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered = true
	for _, c := range s.held {
		s.emit(Event{Kind: EventLocalCandidate, Candidate: c})
	}
	s.held = nil
}

func (s *Session) onLocalCandidate(c *webrtc.ICECandidate) {
	cand := Candidate{SDPMid: s.mid, SDPMLineIndex: 0} // nil: gathering complete
	if c != nil {
		init := c.ToJSON()
		cand.Candidate = init.Candidate
		if init.SDPMid != nil && *init.SDPMid != "" {
			cand.SDPMid = *init.SDPMid
		}
		if init.SDPMLineIndex != nil {
			cand.SDPMLineIndex = int32(*init.SDPMLineIndex)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.answered {
		s.held = append(s.held, cand)
		return
	}
	s.emit(Event{Kind: EventLocalCandidate, Candidate: cand})
}

// addRemoteCandidate applies c, or keeps it until the offer is applied.
func (s *Session) addRemoteCandidate(c Candidate) error {
	s.candMu.Lock()
	defer s.candMu.Unlock()
	select {
	case <-s.closingCh:
		return ErrSessionNotFound
	default:
	}
	if s.remotes++; s.remotes > MaxRemoteCandidates {
		return fmt.Errorf("%w: more than %d remote candidates for this session", ErrCandidateQueueFull, MaxRemoteCandidates)
	}
	if !s.remoteSet {
		if len(s.early) >= MaxQueuedCandidates {
			return ErrCandidateQueueFull
		}
		s.early = append(s.early, c)
		return nil
	}
	if s.refusedRemote(c) {
		return nil // dropped: the peer learns nothing it could probe with
	}
	if err := s.pc.AddICECandidate(candidateInit(c)); err != nil {
		select {
		case <-s.closingCh:
			return ErrSessionNotFound // closed under our feet
		default:
			return fmt.Errorf("%w: %v", ErrBadCandidate, err)
		}
	}
	return nil
}

// refusedRemote logs and says whether the filter drops c; candMu held.
func (s *Session) refusedRemote(c Candidate) bool {
	a := s.remote.refusedAddress(c.Candidate)
	if a != "" {
		s.log.Warn("remote candidate refused", "address", a, "in", "trickle", "hint", "--ice-remote-allow")
	}
	return a != ""
}

// checkCandidate parses a remote candidate line without applying it.
func checkCandidate(c Candidate) error {
	v := strings.TrimPrefix(c.Candidate, "candidate:")
	if v == "" {
		return nil // end of candidates
	}
	if _, err := ice.UnmarshalCandidate(v); err != nil &&
		!errors.Is(err, ice.ErrUnknownCandidateTyp) && !errors.Is(err, ice.ErrDetermineNetworkType) {
		return fmt.Errorf("%w: %v", ErrBadCandidate, err)
	}
	return nil
}

func candidateInit(c Candidate) webrtc.ICECandidateInit {
	init := webrtc.ICECandidateInit{Candidate: c.Candidate}
	if c.SDPMid != "" {
		mid := c.SDPMid
		init.SDPMid = &mid
	}
	if c.SDPMLineIndex >= 0 && c.SDPMLineIndex <= 0xffff {
		idx := uint16(c.SDPMLineIndex)
		init.SDPMLineIndex = &idx
	}
	return init
}
