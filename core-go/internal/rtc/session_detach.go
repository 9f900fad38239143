package rtc

import (
	"errors"
	"os"

	"porthole/core-go/internal/terminal"
)

// Errors of the resume calls.
var (
	// ErrNotDetached: no detached terminal is kept under that session id.
	ErrNotDetached = errors.New("rtc: no detached terminal for this session")
	// ErrHasTerminal: the resuming session already has a terminal.
	ErrHasTerminal = errors.New("rtc: the session already has a terminal")
)

// A resumable handoff (Handoff.RingSize > 0) makes a terminal that outlives
// its peer connection: when the session closes because the peer went away
// (autoClose: peer closed, ICE or DTLS failed), porthole-core keeps pumping
// the descriptor into the scrollback ring under the old session id
// ("detached") instead of closing it. AttachTerminal moves it to a new
// session, which gets the ring replayed then live bytes; DropTerminal
// releases it. A close asked by the agent (CloseSession) or a shutdown
// releases it as before.

// newResumable builds the resumable pump of a handoff: on the agent's
// memfd when it gave one (the ring survives porthole-core), else in memory
// (also when the memfd is not a ring of that size: the terminal still works,
// its earlier scrollback is not replayed).
func (s *Session) newResumable(cfg terminal.PumpConfig, ringSize int, ringFile *os.File) *terminal.ResumablePump {
	if ringSize > terminal.MaxRingSize {
		ringSize = terminal.MaxRingSize
	}
	if ringFile != nil {
		ring, err := terminal.OpenSharedRing(ringFile, ringSize)
		if err == nil {
			s.log.Info("scrollback ring in the agent's memfd", "generation", ring.Generation(), "kept", ring.Len())
			return terminal.NewResumablePumpRing(cfg, ring)
		}
		s.log.Warn("the agent's ring memfd is not usable; scrollback kept in memory", "err", err)
	}
	return terminal.NewResumablePump(cfg, ringSize)
}

// sessionHooks are the pump hooks that report as session s.
func (s *Session) sessionHooks() terminal.PumpHooks {
	return terminal.PumpHooks{
		Resize: func(cols, rows uint32) {
			s.emit(Event{Kind: EventTerminalResize, Cols: cols, Rows: rows})
		},
		Ended: func(reason, message string) {
			s.emit(Event{Kind: EventTerminalEnded, Reason: reason, Message: message})
		},
	}
}

// runResumable serves the terminal channel from rp once it is open, until
// the bridge shuts down; served is closed when it returns.
func (s *Session) runResumable(rp *terminal.ResumablePump, served chan struct{}) {
	defer close(served)
	select {
	case <-s.termOpen:
	case <-s.closingCh:
		return
	}
	s.mu.Lock()
	b := s.term
	s.mu.Unlock()
	if err := b.Attach(); err != nil {
		s.log.Warn("resumable terminal not attached", "err", err)
		return
	}
	defer b.Detach()
	rp.Serve(b)
}

// releaseResumable runs in finishClose once the bridge is shut down: the
// pump is kept detached when the peer went away (detach) and the process
// still runs, else released. It reports whether it was kept.
func (s *Session) releaseResumable(detach bool) bool {
	s.mu.Lock()
	rp, served := s.rpump, s.served
	s.mu.Unlock()
	if rp == nil {
		return false
	}
	<-served
	select {
	case <-rp.Ended():
		detach = false
	default:
	}
	if !detach || !s.m.keepDetached(s.id, rp) {
		rp.Close()
		return false
	}
	s.log.Info("terminal detached: its output goes to the scrollback ring")
	return true
}

// keepDetached files rp under id; false when the manager is shutting down.
func (m *Manager) keepDetached(id string, rp *terminal.ResumablePump) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	if m.detached == nil {
		m.detached = make(map[string]*terminal.ResumablePump)
	}
	m.detached[id] = rp
	// The process may end while detached: say so under the old id.
	rp.SetHooks(terminal.PumpHooks{Ended: func(reason, message string) {
		m.hub.Publish(Event{SessionID: id, Kind: EventTerminalEnded, Reason: reason, Message: message})
	}})
	return true
}

// AttachTerminal moves the detached terminal of from to the live terminal
// session to: its ring is replayed on to's channel once open, then live
// output follows. ErrNotDetached when from has none; ErrHasTerminal when to
// already has a descriptor.
func (m *Manager) AttachTerminal(from, to string) error {
	s, err := m.Session(to)
	if err != nil {
		return err
	}
	if s.kind != KindTerminal {
		return ErrNotTerminal
	}
	m.mu.Lock()
	rp := m.detached[from]
	if rp != nil {
		delete(m.detached, from)
	}
	m.mu.Unlock()
	if rp == nil {
		return ErrNotDetached
	}
	s.mu.Lock()
	switch {
	case s.closing || !s.answered:
		err = ErrSessionNotFound
	case s.pump != nil || s.rpump != nil || (s.term != nil && s.term.Attached()):
		err = ErrHasTerminal
	}
	if err != nil {
		s.mu.Unlock()
		m.keepDetached(from, rp)
		return err
	}
	served := make(chan struct{})
	s.rpump, s.served = rp, served
	s.mu.Unlock()
	rp.SetHooks(s.sessionHooks())
	go s.runResumable(rp, served)
	s.log.Info("detached terminal attached", "from", from)
	return nil
}

// DropTerminal releases the detached terminal of id (its descriptor copy
// and ring); ErrNotDetached when there is none.
func (m *Manager) DropTerminal(id string) error {
	m.mu.Lock()
	rp := m.detached[id]
	delete(m.detached, id)
	m.mu.Unlock()
	if rp == nil {
		return ErrNotDetached
	}
	rp.Close()
	return nil
}

// dropAllDetached releases every detached terminal (shutdown).
func (m *Manager) dropAllDetached() {
	m.mu.Lock()
	all := m.detached
	m.detached = nil
	m.mu.Unlock()
	for _, rp := range all {
		rp.Close()
	}
}
