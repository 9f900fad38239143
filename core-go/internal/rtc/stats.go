package rtc

import (
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/screen"
	"porthole/core-go/internal/terminal"
)

// SessionStats is a snapshot of one session's transport.
type SessionStats struct {
	SessionID     string
	Kind          string
	PeerState     string
	ICEState      string
	SelectedPair  *CandidatePair // nil until ICE nominated a pair
	RTT           time.Duration
	BytesSent     uint64
	BytesReceived uint64
	Channels      []ChannelStats
	Age           time.Duration
	Screen        *screen.Stats  // screen sessions only
	Terminal      *TerminalStats // terminal sessions once the channel opened
	ICE           *ICEDiagnosis  // nil while the session is being created
}

// TerminalStats is what crossed a terminal, for the agent's idle timeouts.
type TerminalStats struct {
	terminal.Activity
	HandedOver bool // pumped from a handed-over descriptor
	Detached   bool // EventClosed: the resumable terminal was kept detached (session_detach.go)
}

// CandidatePair is the nominated ICE candidate pair.
type CandidatePair struct {
	LocalType, RemoteType       string
	LocalAddress, RemoteAddress string // ip:port
	Protocol                    string
}

// ChannelStats describes one data channel.
type ChannelStats struct {
	Label, Protocol, State         string
	MessagesSent, MessagesReceived uint64
	BytesSent, BytesReceived       uint64
	BufferedAmount                 uint64
}

// Stats returns the stats of one session, or of all when id is "".
func (m *Manager) Stats(id string) ([]SessionStats, error) {
	var sessions []*Session
	if id != "" {
		s, err := m.Session(id)
		if err != nil {
			return nil, err
		}
		sessions = []*Session{s}
	} else {
		m.mu.Lock()
		for _, s := range m.sessions {
			sessions = append(sessions, s)
		}
		m.mu.Unlock()
		sort.Slice(sessions, func(i, j int) bool { return sessions[i].id < sessions[j].id })
	}
	out := make([]SessionStats, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, s.stats())
	}
	return out, nil
}

func (s *Session) stats() SessionStats {
	s.mu.Lock()
	st := SessionStats{
		SessionID: s.id,
		Kind:      s.kind,
		PeerState: s.peerState,
		ICEState:  s.iceState,
		Age:       time.Since(s.created),
	}
	channels := append([]*webrtc.DataChannel(nil), s.channels...)
	if s.term != nil {
		st.Terminal = &TerminalStats{Activity: s.term.Activity(), HandedOver: s.pump != nil || s.rpump != nil}
	}
	s.mu.Unlock()

	select {
	case <-s.started:
	default:
		return st // still being created
	}
	if s.pc == nil {
		return st
	}
	st.Screen = s.screenStats() // s.screen is set before started closes
	st.ICE = s.diagnosis()
	report := s.pcStats()
	for _, v := range report {
		switch x := v.(type) {
		case webrtc.TransportStats:
			st.BytesSent += x.BytesSent
			st.BytesReceived += x.BytesReceived
		case webrtc.ICECandidatePairStats:
			if x.Nominated && x.State == webrtc.StatsICECandidatePairStateSucceeded {
				st.RTT = time.Duration(x.CurrentRoundTripTime * float64(time.Second))
				st.SelectedPair = pairFromStats(report, x)
			}
		}
	}
	if st.SelectedPair == nil {
		st.SelectedPair = selectedPair(s.pc)
	}
	for _, dc := range channels {
		cs := ChannelStats{
			Label:          dc.Label(),
			Protocol:       dc.Protocol(),
			State:          dc.ReadyState().String(),
			BufferedAmount: dc.BufferedAmount(),
		}
		if ds, ok := report.GetDataChannelStats(dc); ok {
			cs.MessagesSent = uint64(ds.MessagesSent)
			cs.MessagesReceived = uint64(ds.MessagesReceived)
			cs.BytesSent = ds.BytesSent
			cs.BytesReceived = ds.BytesReceived
		}
		st.Channels = append(st.Channels, cs)
	}
	return st
}

func pairFromStats(report webrtc.StatsReport, p webrtc.ICECandidatePairStats) *CandidatePair {
	local, ok1 := report[p.LocalCandidateID].(webrtc.ICECandidateStats)
	remote, ok2 := report[p.RemoteCandidateID].(webrtc.ICECandidateStats)
	if !ok1 || !ok2 {
		return nil
	}
	return &CandidatePair{
		LocalType:     local.CandidateType.String(),
		RemoteType:    remote.CandidateType.String(),
		LocalAddress:  net.JoinHostPort(local.IP, strconv.Itoa(int(local.Port))),
		RemoteAddress: net.JoinHostPort(remote.IP, strconv.Itoa(int(remote.Port))),
		Protocol:      local.Protocol,
	}
}

// selectedPair asks the ICE transport directly, for when the stats report
// has no nominated pair yet.
func selectedPair(pc *webrtc.PeerConnection) *CandidatePair {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	p, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil || p.Local == nil || p.Remote == nil {
		return nil
	}
	return &CandidatePair{
		LocalType:     p.Local.Typ.String(),
		RemoteType:    p.Remote.Typ.String(),
		LocalAddress:  net.JoinHostPort(p.Local.Address, strconv.Itoa(int(p.Local.Port))),
		RemoteAddress: net.JoinHostPort(p.Remote.Address, strconv.Itoa(int(p.Remote.Port))),
		Protocol:      p.Local.Protocol.String(),
	}
}
