package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/terminal"
)

// Session is one peer connection answering a remote offer.
type Session struct {
	id      string
	kind    string
	created time.Time
	mid     string // the offer's data section, for end-of-candidates
	m       *Manager
	log     *slog.Logger
	pc      *webrtc.PeerConnection // set once in start, before any callback

	// candMu guards the remote candidates that arrive before the remote
	// description is set. It is never taken inside a pion callback, so it
	// may be held across pc.AddICECandidate.
	candMu    sync.Mutex
	remoteSet bool
	early     []Candidate

	mu        sync.Mutex // guards the fields below; taken in pion callbacks
	answered  bool       // the answer was returned; local candidates flow
	held      []Candidate
	iceState  string
	peerState string
	term      *terminal.Bridge
	termDC    *webrtc.DataChannel
	channels  []*webrtc.DataChannel
	closing   bool

	started     chan struct{} // closed when start returned; pc is set
	termOpen    chan struct{} // closed when the terminal channel opened
	closingCh   chan struct{} // closed when closing starts
	closeDone   chan struct{} // closed when the session is gone
	evMu        sync.Mutex    // orders emits against the final closed event
	eventsEnded bool
}

func newSession(m *Manager, id, kind, mid string) *Session {
	return &Session{
		id:        id,
		kind:      kind,
		created:   time.Now(),
		mid:       mid,
		m:         m,
		log:       m.log.With("session", id),
		iceState:  webrtc.ICEConnectionStateNew.String(),
		peerState: webrtc.PeerConnectionStateNew.String(),
		started:   make(chan struct{}),
		termOpen:  make(chan struct{}),
		closingCh: make(chan struct{}),
		closeDone: make(chan struct{}),
	}
}

// ID is the session id.
func (s *Session) ID() string { return s.id }

// start creates the peer connection, applies the offer and the early
// candidates and returns the answer without waiting for ICE gathering.
func (s *Session) start(offer string, servers []webrtc.ICEServer, early []Candidate) (string, error) {
	pc, err := s.m.api.NewPeerConnection(webrtc.Configuration{ICEServers: servers})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	s.pc = pc
	pc.OnICECandidate(s.onLocalCandidate)
	pc.OnICEConnectionStateChange(s.onICEState)
	pc.OnConnectionStateChange(s.onPeerState)
	pc.OnDataChannel(s.onDataChannel)

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: cannot answer: %v", ErrBadSDP, err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}

	s.candMu.Lock()
	s.remoteSet = true
	early = append(early, s.early...)
	s.early = nil
	for _, c := range early {
		if err := pc.AddICECandidate(candidateInit(c)); err != nil {
			s.log.Warn("early remote candidate refused", "err", err)
		}
	}
	s.candMu.Unlock()
	if len(early) > 0 {
		s.log.Debug("applied early remote candidates", "count", len(early))
	}
	return answer.SDP, nil
}

// answered releases the local candidates gathered before the answer was
// handed out, so that the agent never sees a candidate before the answer.
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

func (s *Session) onICEState(st webrtc.ICEConnectionState) {
	s.mu.Lock()
	s.iceState = st.String()
	s.mu.Unlock()
	s.emit(Event{Kind: EventICEState, State: st.String()})
	if st == webrtc.ICEConnectionStateFailed {
		s.autoClose(ReasonICEFailed, "ICE found no working candidate pair")
	}
}

func (s *Session) onPeerState(st webrtc.PeerConnectionState) {
	s.mu.Lock()
	s.peerState = st.String()
	s.mu.Unlock()
	s.emit(Event{Kind: EventPeerState, State: st.String()})
	switch st {
	case webrtc.PeerConnectionStateFailed:
		s.autoClose(ReasonPeerFailed, "peer connection failed (DTLS or transport)")
	case webrtc.PeerConnectionStateClosed:
		s.autoClose(ReasonPeerClosed, "peer connection closed by the peer")
	}
}

// onDataChannel accepts the one `terminal` channel of a terminal session
// and closes anything else.
func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	s.mu.Lock()
	if s.kind != KindTerminal || dc.Label() != terminal.Label || s.term != nil || s.closing {
		s.mu.Unlock()
		s.log.Info("closing unexpected data channel", "label", truncateLabel(dc.Label()))
		if err := dc.Close(); err != nil {
			s.log.Debug("close unexpected data channel", "err", err)
		}
		return
	}
	binary := dc.Protocol() == terminal.ProtocolBinary
	b := terminal.NewBridge(dc, binary, s.log, func() {
		s.autoClose(ReasonPeerClosed, "peer sent close")
	})
	s.term = b
	s.termDC = dc
	s.channels = append(s.channels, dc)
	s.mu.Unlock()

	dc.SetBufferedAmountLowThreshold(terminal.LowWaterMark)
	dc.OnBufferedAmountLow(b.NotifyBufferedLow)
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { b.HandleMessage(msg.Data, msg.IsString) })
	dc.OnOpen(func() {
		close(s.termOpen)
		s.emit(Event{Kind: EventChannelOpened, Label: dc.Label(), Protocol: dc.Protocol()})
	})
	dc.OnClose(func() {
		s.autoClose(ReasonPeerClosed, "terminal channel closed by the peer")
	})
}

func truncateLabel(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
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
	if !s.remoteSet {
		if len(s.early) >= MaxQueuedCandidates {
			return ErrCandidateQueueFull
		}
		s.early = append(s.early, c)
		return nil
	}
	if err := s.pc.AddICECandidate(candidateInit(c)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCandidate, err)
	}
	return nil
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

// AttachTerminal waits until the terminal channel is open (or ctx ends) and
// claims its bridge for one agent stream.
func (s *Session) AttachTerminal(ctx context.Context) (*terminal.Bridge, error) {
	if s.kind != KindTerminal {
		return nil, ErrNotTerminal
	}
	select {
	case <-s.termOpen:
	case <-s.closingCh:
		return nil, ErrSessionNotFound
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	b := s.term
	s.mu.Unlock()
	if err := b.Attach(); err != nil {
		return nil, err
	}
	return b, nil
}

// emit publishes an event of this session unless it is already closed.
func (s *Session) emit(e Event) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.eventsEnded {
		return
	}
	e.SessionID = s.id
	e.Time = time.Now()
	s.m.hub.Publish(e)
}

// endEvents publishes the final event (if any) and silences the session.
func (s *Session) endEvents(final *Event) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.eventsEnded {
		return
	}
	s.eventsEnded = true
	if final != nil {
		final.SessionID = s.id
		final.Time = time.Now()
		s.m.hub.Publish(*final)
	}
}

// beginClose marks the session closing; only the first caller gets true.
func (s *Session) beginClose() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.closing = true
	close(s.closingCh)
	return true
}

// autoClose closes the session in the background: it is called from pion
// callbacks, where closing the peer connection would deadlock.
func (s *Session) autoClose(reason, message string) {
	if !s.beginClose() {
		return
	}
	go s.finishClose(context.Background(), reason, message, false)
}

// close closes the session; flush first delivers what the agent sent.
// It returns ErrSessionNotFound when another close got there first, after
// that one finished (or ctx ended).
func (s *Session) close(ctx context.Context, reason, message string, flush bool) error {
	if !s.beginClose() {
		select {
		case <-s.closeDone:
		case <-ctx.Done():
		}
		return ErrSessionNotFound
	}
	s.finishClose(ctx, reason, message, flush)
	return nil
}

func (s *Session) finishClose(ctx context.Context, reason, message string, flush bool) {
	defer close(s.closeDone)
	<-s.started // start is quick; after it, pc is set or nil
	s.mu.Lock()
	b, dc := s.term, s.termDC
	s.mu.Unlock()
	if flush && b != nil {
		s.flush(ctx, b, dc, reason != ReasonSidecarShutdown)
	}
	if b != nil {
		b.Shutdown(reason)
	}
	if s.pc != nil {
		if err := s.pc.GracefulClose(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
	}
	s.m.remove(s)
	s.endEvents(&Event{Kind: EventClosed, Reason: reason, Message: message})
	s.log.Info("session closed", "reason", reason, "detail", message, "age", time.Since(s.created).Round(time.Millisecond))
}

// abort discards a session whose creation failed: no closed event, since the
// agent never got an answer for it.
func (s *Session) abort() {
	if !s.beginClose() {
		<-s.closeDone // a concurrent close (shutdown) finishes it
		return
	}
	s.endEvents(nil)
	if s.pc != nil {
		if err := s.pc.GracefulClose(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
	}
	s.m.remove(s)
	close(s.closeDone)
}

// flush waits, within FlushTimeout, for the attached agent stream to send
// its last frames (when waitAgent: the agent may call CloseSession right
// after sending exit, and the two travel on different HTTP/2 streams) and
// for the terminal channel to drain.
func (s *Session) flush(ctx context.Context, b *terminal.Bridge, dc *webrtc.DataChannel, waitAgent bool) {
	ctx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	if waitAgent && b.AgentPending() {
		select {
		case <-b.AgentDone():
		case <-ctx.Done():
			return
		}
	}
	tick := time.NewTicker(flushPoll)
	defer tick.Stop()
	for dc.BufferedAmount() > 0 {
		if dc.ReadyState() != webrtc.DataChannelStateOpen ||
			s.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			return // nothing will drain any more
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			s.log.Warn("terminal channel not drained before close", "buffered", dc.BufferedAmount())
			return
		}
	}
}
