package rtc

import "github.com/pion/webrtc/v4"

// pion's PeerConnection.GetStats races with its Close: Close clears a field
// (the stats getter of the receivers) that GetStats reads without a lock, a
// data race whenever the connection has receivers (screen sessions). So the
// stats of a session are read only through pcStats and its peer connection
// closed only through closePC, which never run side by side; and a screen
// session does not let pion close its peer connection by itself when the
// peer closes DTLS (screen_api.go): the session closes when the peer's SCTP
// association ends (watchPeerClose).

// pcStats is s.pc.GetStats(), or nil once closePC began.
func (s *Session) pcStats() webrtc.StatsReport {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.pcClosing {
		return nil
	}
	return s.pc.GetStats()
}

// closePC closes s.pc once no GetStats runs, and none starts after.
func (s *Session) closePC() {
	s.statsMu.Lock()
	s.pcClosing = true
	s.statsMu.Unlock()
	if err := s.pc.GracefulClose(); err != nil {
		s.log.Debug("close peer connection", "err", err)
	}
}

// watchPeerClose closes a screen session when the peer closes: pion, told
// not to close the peer connection on the peer's DTLS close, ends the SCTP
// association that runs over it (a screen session with no data channel
// notices through ICE instead).
func (s *Session) watchPeerClose(pc *webrtc.PeerConnection) {
	pc.SCTP().OnClose(func(error) {
		s.autoClose(ReasonPeerClosed, "peer connection closed by the peer")
	})
}
