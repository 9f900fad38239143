package rtc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/screen"
	"porthole/core-go/internal/terminal"
)

// Manager owns every session. Its methods are safe for concurrent use.
type Manager struct {
	cfg    config.RTC
	log    *slog.Logger
	api    *webrtc.API
	se     *webrtc.SettingEngine // what api was built with; screen sessions reuse it
	closer io.Closer             // shared UDP mux
	hub    *Hub
	// turnErrors keeps pion's recent TURN failures for diagnoses.
	turnErrors *turnErrors
	// diagInterval is how often an unconnected session's diagnosis is
	// snapshotted (DiagnosisInterval; tests shorten it).
	diagInterval time.Duration
	// restartWait is how long a session that was connected waits for an
	// ICE restart once its ICE failed (ICERestartWait; tests shorten it).
	restartWait time.Duration

	mu       sync.Mutex // guards sessions, pending, closed and onIdle
	sessions map[string]*Session
	pending  *candidateQueue
	closed   bool
	onIdle   func()                             // called when the last session is removed; see OnIdle
	detached map[string]*terminal.ResumablePump // session_detach.go
}

// CreateRequest is what CreateSession needs.
type CreateRequest struct {
	SessionID  string
	OfferSDP   string
	Kind       string
	ICEServers []config.ICEServer
	Screen     *screen.Config // required for KindScreen; defaults applied here
	// RelayOnly gathers and uses relayed candidates only (a TURN server is required).
	RelayOnly bool
}

// New builds the pion API from cfg. Call Shutdown to release it.
func New(cfg config.RTC, log *slog.Logger) (*Manager, error) {
	return newManager(cfg, log, nil)
}

func newManager(cfg config.RTC, log *slog.Logger, tune func(*webrtc.SettingEngine)) (*Manager, error) {
	turn := &turnErrors{}
	api, se, closer, err := newAPI(cfg, log, turn, tune)
	if err != nil {
		return nil, err
	}
	restartWait := ICERestartWait
	if cfg.RestartWait > 0 {
		restartWait = cfg.RestartWait
	}
	return &Manager{
		cfg:          cfg,
		log:          log,
		api:          api,
		se:           se,
		closer:       closer,
		hub:          NewHub(),
		sessions:     make(map[string]*Session),
		pending:      newCandidateQueue(),
		turnErrors:   turn,
		diagInterval: DiagnosisInterval,
		restartWait:  restartWait,
	}, nil
}

// ValidateSessionID checks 1..MaxSessionIDLen bytes of [A-Za-z0-9_-].
func ValidateSessionID(id string) error {
	if len(id) == 0 || len(id) > MaxSessionIDLen {
		return ErrInvalidSessionID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return ErrInvalidSessionID
		}
	}
	return nil
}

// checkOffer parses the offer and returns the mid candidates are reported
// under: the data section's for a terminal, the first section's (bundled)
// for a screen, whose offer must have a video section.
func checkOffer(offer, kind string) (string, error) {
	if len(offer) > MaxOfferSize {
		return "", ErrOfferTooLarge
	}
	if offer == "" {
		return "", fmt.Errorf("%w: empty offer", ErrBadSDP)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if kind == KindScreen {
		for _, md := range d.MediaDescriptions {
			if md.MediaName.Media == "video" {
				mid, _ := d.MediaDescriptions[0].Attribute("mid")
				return mid, nil
			}
		}
		return "", fmt.Errorf("%w: no video (m=video) section", ErrBadSDP)
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media == "application" {
			mid, _ := md.Attribute("mid")
			return mid, nil
		}
	}
	return "", fmt.Errorf("%w: no data channel (m=application) section", ErrBadSDP)
}

// CreateSession answers an offer; see sidecar.proto.
func (m *Manager) CreateSession(req CreateRequest) (string, error) {
	if err := ValidateSessionID(req.SessionID); err != nil {
		return "", err
	}
	var scr *screen.Config
	switch req.Kind {
	case KindTerminal:
	case KindScreen:
		if req.Screen == nil {
			return "", fmt.Errorf("%w: screen options are required", screen.ErrBadOptions)
		}
		cfg, err := req.Screen.WithDefaults()
		if err != nil {
			return "", err
		}
		scr = &cfg
	default:
		return "", fmt.Errorf("%w: %q (want %q or %q)", ErrBadKind, req.Kind, KindTerminal, KindScreen)
	}
	mid, err := checkOffer(req.OfferSDP, req.Kind)
	if err != nil {
		return "", err
	}
	servers := append(append([]config.ICEServer{}, m.cfg.ICEServers...), req.ICEServers...)
	for _, s := range req.ICEServers {
		if len(s.URLs) == 0 {
			return "", fmt.Errorf("%w: no URLs", ErrBadICEServer)
		}
		for _, u := range s.URLs {
			if err := config.ValidateICEURL(u, s.Username, s.Credential); err != nil {
				return "", fmt.Errorf("%w: %v", ErrBadICEServer, err)
			}
		}
	}

	if req.RelayOnly && !hasTURN(servers) {
		return "", fmt.Errorf("%w: relay_only needs a turn: or turns: server", ErrBadICEServer)
	}

	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return "", ErrShutdown
	case m.sessions[req.SessionID] != nil:
		m.mu.Unlock()
		return "", ErrSessionExists
	case len(m.sessions) >= m.cfg.MaxSessions:
		m.mu.Unlock()
		return "", ErrTooManySessions
	}
	s := newSession(m, req.SessionID, req.Kind, mid)
	m.sessions[s.id] = s
	early := m.pending.take(s.id, time.Now())
	m.mu.Unlock()

	answer, err := s.start(req.OfferSDP, iceServers(servers), req.RelayOnly, early, scr)
	close(s.started)
	if err != nil {
		s.abort()
		return "", err
	}
	s.markAnswered()
	s.keepDiagnosis()
	s.log.Info("session created", "kind", s.kind, "early_candidates", len(early))
	return answer, nil
}

// AddRemoteCandidate applies a remote candidate, or queues it when the
// session does not exist yet (queued is then true).
func (m *Manager) AddRemoteCandidate(id string, c Candidate) (queued bool, err error) {
	if err := ValidateSessionID(id); err != nil {
		return false, err
	}
	if err := checkCandidate(c); err != nil {
		return false, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false, ErrShutdown
	}
	s := m.sessions[id]
	if s == nil {
		err := m.pending.add(id, c, time.Now())
		m.mu.Unlock()
		return err == nil, err
	}
	m.mu.Unlock()
	return false, s.addRemoteCandidate(c)
}

// Session returns a live session.
func (m *Manager) Session(id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[id]
	if s == nil {
		return nil, ErrSessionNotFound
	}
	return s, nil
}

// CloseSession flushes and closes a session with reason ("closed_by_agent"
// when empty).
func (m *Manager) CloseSession(ctx context.Context, id, reason string) error {
	if reason == "" {
		reason = ReasonClosedByAgent
	}
	s, err := m.Session(id)
	if err != nil {
		return err
	}
	return s.close(ctx, reason, "closed by the agent", true)
}

// Watch subscribes to the events of every session.
func (m *Manager) Watch() (*Watcher, error) { return m.hub.Subscribe() }

// Len is the number of live sessions.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// OnIdle sets f to be called each time the last session is removed (the
// session count drops to zero). f must not block: it runs on the closing
// session's goroutine.
func (m *Manager) OnIdle(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onIdle = f
}

func (m *Manager) remove(s *Session) {
	m.mu.Lock()
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
	}
	var idle func()
	if len(m.sessions) == 0 {
		idle = m.onIdle
	}
	m.mu.Unlock()
	if idle != nil {
		idle()
	}
}

// Shutdown closes every session with reason "sidecar_shutdown" (flushing
// within ctx), ends the event watchers and releases shared sockets.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	sessions := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			_ = s.close(ctx, ReasonSidecarShutdown, "the sidecar is shutting down", true)
		})
	}
	wg.Wait()
	m.dropAllDetached()
	m.hub.Close()
	return m.closer.Close()
}
