package rtc

import (
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// TURN allocation outcomes in ICEDiagnosis.TURNAllocation.
const (
	TURNNotConfigured = "not_configured"
	TURNOK            = "ok"
	TURNPending       = "pending"
	TURNFailed        = "failed"
)

// ICEDiagnosis is what ICE on this side of a session saw (sidecar.proto
// IceDiagnosis): candidates by type, every pair and its state, and whether
// a TURN allocation worked.
type ICEDiagnosis struct {
	Host, Srflx, Relay uint32
	Local, Remote      []CandidateInfo
	Pairs              []PairInfo
	GatheringState     string
	TURNURLs           []string // without credentials
	TURNAllocation     string   // TURNNotConfigured, TURNOK, TURNPending or TURNFailed
	TURNError          string   // pion's last error for one of TURNURLs, when failed
	RelayOnly          bool
}

// CandidateInfo is one candidate from the stats report.
type CandidateInfo struct {
	Type, Address, Protocol, RelayProtocol, URL string
}

// PairInfo is one candidate pair and its check state.
type PairInfo struct {
	Local, Remote                                     CandidateInfo
	State                                             string
	Nominated                                         bool
	RequestsSent, ResponsesReceived, RequestsReceived uint64
	RTTms                                             float64
}

// diagnosis reads the peer connection's stats; s.pc must be set.
func (s *Session) diagnosis() *ICEDiagnosis {
	d := &ICEDiagnosis{
		GatheringState: s.pc.ICEGatheringState().String(),
		TURNURLs:       s.turnURLs,
		RelayOnly:      s.relayOnly,
	}
	report := s.pcStats()
	cands := map[string]CandidateInfo{}
	for id, v := range report {
		c, ok := v.(webrtc.ICECandidateStats)
		if !ok || c.Deleted {
			continue
		}
		info := candidateInfo(c)
		cands[id] = info
		if c.Type != webrtc.StatsTypeLocalCandidate {
			d.Remote = append(d.Remote, info)
			continue
		}
		d.Local = append(d.Local, info)
		switch c.CandidateType {
		case webrtc.ICECandidateTypeHost:
			d.Host++
		case webrtc.ICECandidateTypeSrflx:
			d.Srflx++
		case webrtc.ICECandidateTypeRelay:
			d.Relay++
		}
	}
	for _, v := range report {
		p, ok := v.(webrtc.ICECandidatePairStats)
		if !ok {
			continue
		}
		d.Pairs = append(d.Pairs, PairInfo{
			Local:             cands[p.LocalCandidateID],
			Remote:            cands[p.RemoteCandidateID],
			State:             string(p.State),
			Nominated:         p.Nominated,
			RequestsSent:      p.RequestsSent,
			ResponsesReceived: p.ResponsesReceived,
			RequestsReceived:  p.RequestsReceived,
			RTTms:             p.CurrentRoundTripTime * 1000,
		})
	}
	sortCandidates(d.Local)
	sortCandidates(d.Remote)
	sort.Slice(d.Pairs, func(i, j int) bool {
		a, b := d.Pairs[i], d.Pairs[j]
		if a.Local.Address != b.Local.Address {
			return a.Local.Address < b.Local.Address
		}
		return a.Remote.Address < b.Remote.Address
	})
	s.judgeTURN(d)
	return d
}

// judgeTURN sets the TURN allocation's outcome from what was gathered.
func (s *Session) judgeTURN(d *ICEDiagnosis) {
	d.TURNError = ""
	switch {
	case len(d.TURNURLs) == 0:
		d.TURNAllocation = TURNNotConfigured
	case d.Relay > 0:
		d.TURNAllocation = TURNOK
	case d.GatheringState != webrtc.ICEGatheringStateComplete.String():
		d.TURNAllocation = TURNPending
	default:
		d.TURNAllocation = TURNFailed
		d.TURNError = s.m.turnErrors.since(s.created, turnAddresses(d.TURNURLs))
	}
}

// keepDiagnosis snapshots the diagnosis while ICE is not connected, every
// Manager.diagInterval until the session closes: pion deletes every
// candidate and pair when ICE fails, so the close reports the last
// snapshot of a failed session. A timer that re-arms itself, not a
// goroutine: a session holds none while it waits.
func (s *Session) keepDiagnosis() {
	time.AfterFunc(s.m.diagInterval, func() {
		select {
		case <-s.closingCh:
			return
		default:
		}
		s.snapshotDiagnosis()
		s.keepDiagnosis()
	})
}

// snapshotDiagnosis keeps the diagnosis of now as the last snapshot, unless
// ICE is connected, the peer connection closed or pion already dropped the
// candidates.
func (s *Session) snapshotDiagnosis() {
	s.mu.Lock()
	state := s.iceState
	s.mu.Unlock()
	if state == webrtc.ICEConnectionStateConnected.String() || state == webrtc.ICEConnectionStateCompleted.String() ||
		pcClosed(s.pc) {
		return
	}
	d := s.diagnosis()
	if len(d.Local) == 0 && len(d.Pairs) == 0 {
		return // ICE failed meanwhile: keep the snapshot from before
	}
	s.mu.Lock()
	s.lastDiag = d
	s.mu.Unlock()
}

// finalDiagnosis is the diagnosis to report when the session closes: the
// current one, or when ICE failed (and pion dropped the candidates) the
// last snapshot, with the gathering state and TURN outcome of now.
// A peer connection pion closed itself (the peer closed DTLS) gives the
// last snapshot only, or none: pion's GetStats races with its Close.
func (s *Session) finalDiagnosis() *ICEDiagnosis {
	s.mu.Lock()
	last := s.lastDiag
	s.mu.Unlock()
	if pcClosed(s.pc) {
		return last
	}
	d := s.diagnosis()
	if len(d.Local) > 0 || last == nil {
		return d
	}
	last.GatheringState = d.GatheringState
	s.judgeTURN(last)
	return last
}

// pcClosed reports whether pion closed (or is closing) the peer connection.
func pcClosed(pc *webrtc.PeerConnection) bool {
	return pc.ConnectionState() == webrtc.PeerConnectionStateClosed
}

func candidateInfo(c webrtc.ICECandidateStats) CandidateInfo {
	return CandidateInfo{
		Type:          c.CandidateType.String(),
		Address:       net.JoinHostPort(c.IP, strconv.Itoa(int(c.Port))),
		Protocol:      c.Protocol,
		RelayProtocol: c.RelayProtocol,
		URL:           stripURL(c.URL),
	}
}

func sortCandidates(c []CandidateInfo) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Type != c[j].Type {
			return c[i].Type < c[j].Type
		}
		return c[i].Address < c[j].Address
	})
}

// stripURL drops the query's credentials, if any, from a STUN/TURN URL;
// pion's stats carry the URL as configured, which never has userinfo, but
// this keeps it so whatever pion puts there.
func stripURL(u string) string {
	if i := strings.IndexByte(u, '@'); i >= 0 {
		if j := strings.IndexByte(u, ':'); j >= 0 && j < i {
			return u[:j+1] + u[i+1:]
		}
	}
	return u
}

// turnURLs are the turn:/turns: URLs among servers, without credentials
// (config URLs carry none: credentials are separate fields).
func turnURLs(servers []webrtc.ICEServer) []string {
	var out []string
	for _, s := range servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				out = append(out, stripURL(u))
			}
		}
	}
	return out
}

// turnAddresses are the host:port of TURN URLs ("turn:10.0.0.1:3478?transport=tcp"
// → "10.0.0.1:3478"; the default port is 3478, 5349 for turns:).
func turnAddresses(urls []string) []string {
	out := make([]string, 0, len(urls))
	for _, u := range urls {
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok {
			continue
		}
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			rest = rest[:q]
		}
		if _, _, err := net.SplitHostPort(rest); err != nil {
			port := "3478"
			if scheme == "turns" {
				port = "5349"
			}
			rest = net.JoinHostPort(strings.Trim(rest, "[]"), port)
		}
		if h, p, err := net.SplitHostPort(rest); err == nil {
			if pu, err := url.PathUnescape(h); err == nil {
				h = pu
			}
			out = append(out, net.JoinHostPort(h, p))
		}
	}
	return out
}
