package rtc

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/files"
	"porthole/core-go/internal/screen"
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
	// turnURLs (without credentials) and relayOnly are set once in start,
	// before started closes: what the diagnosis reports.
	turnURLs  []string
	relayOnly bool

	// candMu guards the remote candidates that arrive before the remote
	// description is set. It is never taken inside a pion callback, so it
	// may be held across pc.AddICECandidate.
	candMu    sync.Mutex
	remoteSet bool
	remote    remoteFilter // set with remoteSet
	early     []Candidate
	remotes   int // candidates addRemoteCandidate took; at most MaxRemoteCandidates

	mu        sync.Mutex // guards the fields below; taken in pion callbacks
	answered  bool       // the answer was returned; local candidates flow
	held      []Candidate
	iceState  string
	peerState string
	term      *terminal.Bridge
	termDC    *webrtc.DataChannel
	channels  []*webrtc.DataChannel
	closing   bool
	inputDC   *webrtc.DataChannel     // a screen session's `input` channel
	clipDC    *webrtc.DataChannel     // a screen session's `clipboard` channel
	files     *files.Relay            // a terminal session's `files` channel (session_files.go)
	pump      *terminal.Pump          // set once by a descriptor handoff
	recorder  *terminal.Recorder      // the pump's recording, nil when not asked
	rpump     *terminal.ResumablePump // a resumable handoff's pump (session_detach.go)
	served    chan struct{}           // closed when runResumable returned
	watching  *terminal.ResumablePump // a viewer's shared terminal (session_share.go)
	lastDiag  *ICEDiagnosis           // keepDiagnosis's last snapshot while not connected
	// everConnected: ICE was connected once; failTimer: the wait for an ICE
	// restart after a failure (session_restart.go); restarts: how many.
	everConnected bool
	failTimer     *time.Timer
	restarts      int

	screen *screenParts // set before start for screen sessions, then fixed

	// statsMu keeps pion's GetStats and our close of pc apart (pcstats.go);
	// pcClosing is set, under it, before the close.
	statsMu   sync.Mutex
	pcClosing bool

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
func (s *Session) start(offer string, servers []webrtc.ICEServer, relayOnly bool, early []Candidate,
	scr *screen.Config) (string, error) {
	api := s.m.api
	if scr != nil {
		if err := s.prepareScreen(*scr); err != nil {
			return "", err
		}
		api = s.screen.api
	}
	s.turnURLs, s.relayOnly = turnURLs(servers), relayOnly
	cfg := webrtc.Configuration{ICEServers: servers}
	if relayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	s.pc = pc
	if s.screen != nil {
		if err := s.attachScreen(pc); err != nil {
			return "", err
		}
		s.watchPeerClose(pc)
	}
	pc.OnICECandidate(s.onLocalCandidate)
	pc.OnICEConnectionStateChange(s.onICEState)
	pc.OnConnectionStateChange(s.onPeerState)
	pc.OnDataChannel(s.onDataChannel)

	remote := newRemoteFilter(s.m.cfg)
	offer, refused := remote.filterSDP(offer)
	for _, a := range refused {
		s.log.Warn("remote candidate refused", "address", a, "in", "offer", "hint", "--ice-remote-allow")
	}
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
	s.remote = remote
	early = append(early, s.early...)
	s.early = nil
	for _, c := range early {
		if s.refusedRemote(c) {
			continue
		}
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

func (s *Session) onICEState(st webrtc.ICEConnectionState) {
	s.mu.Lock()
	s.iceState = st.String()
	s.mu.Unlock()
	s.emit(Event{Kind: EventICEState, State: st.String()})
	switch st {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		s.iceConnected()
	case webrtc.ICEConnectionStateFailed:
		s.iceFailed(ReasonICEFailed, "ICE found no working candidate pair")
	}
}

func (s *Session) onPeerState(st webrtc.PeerConnectionState) {
	s.mu.Lock()
	s.peerState = st.String()
	s.mu.Unlock()
	s.emit(Event{Kind: EventPeerState, State: st.String()})
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.startScreen()
	case webrtc.PeerConnectionStateFailed:
		s.mu.Lock()
		iceDown := s.iceState == webrtc.ICEConnectionStateFailed.String()
		s.mu.Unlock()
		if iceDown {
			// Failed because ICE did: an ICE restart may still bring it back.
			s.iceFailed(ReasonPeerFailed, "peer connection failed (ICE)")
		} else {
			s.autoClose(ReasonPeerFailed, "peer connection failed (DTLS or transport)")
		}
	case webrtc.PeerConnectionStateClosed:
		s.autoClose(ReasonPeerClosed, "peer connection closed by the peer")
	}
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
