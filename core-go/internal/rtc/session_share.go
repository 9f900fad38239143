package rtc

import (
	"errors"

	"porthole/core-go/internal/terminal"
)

// ErrNotShareable: the session has no resumable handed-over terminal (live
// or detached) that viewers could watch.
var ErrNotShareable = errors.New("rtc: no shareable terminal for this session")

// Shared terminals (terminal/fanout.go, docs/protocol.md §2f): a viewer is
// a terminal session of its own (its own peer connection) whose channel is
// fed by another session's resumable pump instead of a descriptor.

// sharedPump is the resumable pump of id: its live session's, or the one
// kept detached under its id.
func (m *Manager) sharedPump(id string) (*terminal.ResumablePump, error) {
	m.mu.Lock()
	rp := m.detached[id]
	m.mu.Unlock()
	if rp != nil {
		return rp, nil
	}
	s, err := m.Session(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	rp = s.rpump
	s.mu.Unlock()
	if rp == nil {
		return nil, ErrNotShareable
	}
	return rp, nil
}

// WatchTerminal makes viewer's terminal channel, once open, a viewer of
// owner's terminal. ErrHasTerminal when viewer already has a terminal.
func (m *Manager) WatchTerminal(owner, viewer string) error {
	rp, err := m.sharedPump(owner)
	if err != nil {
		return err
	}
	v, err := m.Session(viewer)
	if err != nil {
		return err
	}
	if v.kind != KindTerminal {
		return ErrNotTerminal
	}
	v.mu.Lock()
	switch {
	case v.closing || !v.answered:
		err = ErrSessionNotFound
	case v.pump != nil || v.rpump != nil || v.watching != nil || (v.term != nil && v.term.Attached()):
		err = ErrHasTerminal
	}
	if err == nil {
		v.watching = rp
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}
	go v.runWatch(rp)
	v.log.Info("watching a shared terminal", "owner", owner)
	return nil
}

// runWatch serves the terminal channel from rp as a viewer once it is open,
// until the bridge shuts down or the pump is closed.
func (s *Session) runWatch(rp *terminal.ResumablePump) {
	select {
	case <-s.termOpen:
	case <-s.closingCh:
		return
	}
	s.mu.Lock()
	b := s.term
	s.mu.Unlock()
	if err := b.Attach(); err != nil {
		s.log.Warn("viewer not attached", "err", err)
		return
	}
	defer b.Detach()
	rp.Watch(b)
}

// SetTerminalControl gives control of owner's shared terminal to its viewer
// controller, or back to the owner ("").
func (m *Manager) SetTerminalControl(owner, controller string) error {
	rp, err := m.sharedPump(owner)
	if err != nil {
		return err
	}
	if controller == "" {
		return rp.SetController(nil)
	}
	v, err := m.Session(controller)
	if err != nil {
		return err
	}
	v.mu.Lock()
	b, w := v.term, v.watching
	v.mu.Unlock()
	if w != rp || b == nil {
		return terminal.ErrNotViewer
	}
	return rp.SetController(b)
}

// SetScreenInput refuses (held) or allows again the input of screen session
// id, which keeps its XTest connection: control of a shared screen moving
// between its participants. ErrNoScreenInput when id is not a screen
// created with input allowed.
func (m *Manager) SetScreenInput(id string, held bool) error {
	s, err := m.Session(id)
	if err != nil {
		return err
	}
	if s.screen == nil || !s.screen.cfg.AllowInput {
		return ErrNoScreenInput
	}
	s.screen.input.SetHeld(held)
	return nil
}
