package rpcserver

import (
	"fmt"
	"time"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/screen"
	"porthole/core-go/internal/terminal"
)

// screenOptions converts ScreenOptions; nil stays nil (a terminal).
func screenOptions(o *rpcv1.ScreenOptions) *screen.Config {
	if o == nil {
		return nil
	}
	return &screen.Config{
		Display:            o.GetDisplay(),
		Width:              clampInt(o.GetWidth()),
		Height:             clampInt(o.GetHeight()),
		FPS:                clampInt(o.GetFps()),
		MinKbps:            clampInt(o.GetMinBitrateKbps()),
		MaxKbps:            clampInt(o.GetMaxBitrateKbps()),
		AllowInput:         o.GetAllowInput(),
		InputHeld:          o.GetInputHeld(),
		AllowClipboardRead: o.GetAllowClipboardRead(),
	}
}

// clampInt keeps a huge uint32 from wrapping on 32-bit ints; validation
// refuses it afterwards.
func clampInt(v uint32) int { return int(min(v, 1<<30)) }

func screenStatsToProto(st *screen.Stats) *rpcv1.ScreenStats {
	if st == nil {
		return nil
	}
	return &rpcv1.ScreenStats{
		DisplayWidth:      uint32(st.DisplayWidth),
		DisplayHeight:     uint32(st.DisplayHeight),
		VideoWidth:        uint32(st.VideoWidth),
		VideoHeight:       uint32(st.VideoHeight),
		Fps:               st.FPS,
		TargetFps:         uint32(st.TargetFPS),
		TargetBitrateKbps: uint32(st.TargetKbps),
		BitrateKbps:       st.Kbps,
		Frames:            st.Frames,
		Keyframes:         st.Keyframes,
		FramesSkipped:     st.Skipped,
		KeyframeRequests:  st.KeyframeRequests,
		BytesEncoded:      st.BytesEncoded,
		InputEvents:       st.InputEvents,
		InputErrors:       st.InputErrors,
		LastEncodeMs:      float64(st.LastEncode.Microseconds()) / 1000,
		EncodeP50Ms:       float64(st.EncodeP50.Microseconds()) / 1000,
		EncodeP99Ms:       float64(st.EncodeP99.Microseconds()) / 1000,
	}
}

func eventToProto(e rtc.Event) *rpcv1.SessionEvent {
	pe := &rpcv1.SessionEvent{SessionId: e.SessionID, TimeUnixMicros: e.Time.UnixMicro()}
	switch e.Kind {
	case rtc.EventLocalCandidate:
		pe.Event = &rpcv1.SessionEvent_LocalCandidate{LocalCandidate: &rpcv1.IceCandidate{
			Candidate:     e.Candidate.Candidate,
			SdpMid:        e.Candidate.SDPMid,
			SdpMlineIndex: e.Candidate.SDPMLineIndex,
		}}
	case rtc.EventICEState:
		pe.Event = &rpcv1.SessionEvent_IceState{IceState: e.State}
	case rtc.EventPeerState:
		pe.Event = &rpcv1.SessionEvent_PeerState{PeerState: e.State}
	case rtc.EventChannelOpened:
		pe.Event = &rpcv1.SessionEvent_ChannelOpened{ChannelOpened: &rpcv1.ChannelOpened{Label: e.Label, Protocol: e.Protocol}}
	case rtc.EventClosed:
		pe.Event = &rpcv1.SessionEvent_Closed{Closed: &rpcv1.SessionClosed{
			Reason: e.Reason, Message: e.Message, Ice: iceDiagnosisToProto(e.ICE), Terminal: terminalStatsToProto(e.Terminal),
			TerminalDetached: e.Terminal != nil && e.Terminal.Detached,
		}}
	case rtc.EventTerminalResize:
		pe.Event = &rpcv1.SessionEvent_TerminalResize{TerminalResize: &rpcv1.Resize{Cols: e.Cols, Rows: e.Rows}}
	case rtc.EventTerminalEnded:
		pe.Event = &rpcv1.SessionEvent_TerminalEnded{TerminalEnded: &rpcv1.TerminalEnded{Reason: e.Reason, Message: e.Message}}
	case rtc.EventClipboard:
		c := e.Clipboard
		pe.Event = &rpcv1.SessionEvent_Clipboard{Clipboard: &rpcv1.ClipboardTransfer{
			Direction: c.Direction, Bytes: uint64(c.Bytes), Code: c.Code, Attempts: uint32(max(c.Attempts, 1)),
		}}
	}
	return pe
}

// peerFrameToProto converts a peer frame the bridge forwards to the agent.
// Only input and resize are forwarded (the bridge answers ping and handles
// close itself); any other kind is errUnknownPeerFrame, never a guess.
func peerFrameToProto(m terminal.PeerMessage) (*rpcv1.TerminalFromPeer, error) {
	switch m.Kind {
	case terminal.PeerInput:
		return &rpcv1.TerminalFromPeer{Frame: &rpcv1.TerminalFromPeer_Input{Input: m.Data}}, nil
	case terminal.PeerResize:
		return &rpcv1.TerminalFromPeer{Frame: &rpcv1.TerminalFromPeer_Resize{Resize: &rpcv1.Resize{Cols: m.Cols, Rows: m.Rows}}}, nil
	default:
		return nil, fmt.Errorf("%w: %d", errUnknownPeerFrame, m.Kind)
	}
}

func sessionStatsToProto(st rtc.SessionStats) *rpcv1.SessionStats {
	ps := &rpcv1.SessionStats{
		SessionId:     st.SessionID,
		Kind:          st.Kind,
		PeerState:     st.PeerState,
		IceState:      st.ICEState,
		RttMs:         float64(st.RTT.Microseconds()) / 1000,
		BytesSent:     st.BytesSent,
		BytesReceived: st.BytesReceived,
		AgeMs:         st.Age.Milliseconds(),
		Screen:        screenStatsToProto(st.Screen),
		Terminal:      terminalStatsToProto(st.Terminal),
		Ice:           iceDiagnosisToProto(st.ICE),
	}
	if p := st.SelectedPair; p != nil {
		ps.SelectedPair = &rpcv1.CandidatePair{
			LocalType:     p.LocalType,
			RemoteType:    p.RemoteType,
			LocalAddress:  p.LocalAddress,
			RemoteAddress: p.RemoteAddress,
			Protocol:      p.Protocol,
		}
	}
	for _, c := range st.Channels {
		ps.Channels = append(ps.Channels, &rpcv1.ChannelStats{
			Label:            c.Label,
			Protocol:         c.Protocol,
			State:            c.State,
			MessagesSent:     c.MessagesSent,
			MessagesReceived: c.MessagesReceived,
			BytesSent:        c.BytesSent,
			BytesReceived:    c.BytesReceived,
			BufferedAmount:   c.BufferedAmount,
		})
	}
	return ps
}

func terminalStatsToProto(t *rtc.TerminalStats) *rpcv1.TerminalActivity {
	if t == nil {
		return nil
	}
	return &rpcv1.TerminalActivity{
		LastInputUnixMicros:  unixMicros(t.LastInput),
		LastOutputUnixMicros: unixMicros(t.LastOutput),
		InputBytes:           t.InputBytes,
		OutputBytes:          t.OutputBytes,
		HandedOver:           t.HandedOver,
		InputRefused:         t.InputRefused,
	}
}

// unixMicros is 0 for the zero time ("never").
func unixMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func iceDiagnosisToProto(d *rtc.ICEDiagnosis) *rpcv1.IceDiagnosis {
	if d == nil {
		return nil
	}
	pd := &rpcv1.IceDiagnosis{
		HostCandidates:  d.Host,
		SrflxCandidates: d.Srflx,
		RelayCandidates: d.Relay,
		GatheringState:  d.GatheringState,
		TurnConfigured:  len(d.TURNURLs) > 0,
		TurnUrls:        d.TURNURLs,
		TurnAllocation:  d.TURNAllocation,
		TurnError:       d.TURNError,
		RelayOnly:       d.RelayOnly,
	}
	for _, c := range d.Local {
		pd.LocalCandidates = append(pd.LocalCandidates, candidateInfoToProto(c))
	}
	for _, c := range d.Remote {
		pd.RemoteCandidates = append(pd.RemoteCandidates, candidateInfoToProto(c))
	}
	for _, p := range d.Pairs {
		pd.Pairs = append(pd.Pairs, &rpcv1.IceCandidatePairInfo{
			Local:             candidateInfoToProto(p.Local),
			Remote:            candidateInfoToProto(p.Remote),
			State:             p.State,
			Nominated:         p.Nominated,
			RequestsSent:      p.RequestsSent,
			ResponsesReceived: p.ResponsesReceived,
			RequestsReceived:  p.RequestsReceived,
			RttMs:             p.RTTms,
		})
	}
	return pd
}

func candidateInfoToProto(c rtc.CandidateInfo) *rpcv1.IceCandidateInfo {
	return &rpcv1.IceCandidateInfo{
		Type:          c.Type,
		Address:       c.Address,
		Protocol:      c.Protocol,
		RelayProtocol: c.RelayProtocol,
		Url:           c.URL,
	}
}
