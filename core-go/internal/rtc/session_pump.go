package rtc

import (
	"context"
	"os"

	"porthole/core-go/internal/terminal"
)

// Handoff is a terminal descriptor the agent handed over (the started
// exec's stream or a host PTY master) with what goes with it.
type Handoff struct {
	// File is in non-blocking mode. The session owns it once
	// HandoffTerminal returned nil; on an error the caller still owns it.
	File *os.File
	// Preread is output the agent read before the handoff.
	Preread []byte
	// Record asks for output copies (WatchRecording); RecordInput for
	// input copies too.
	Record, RecordInput bool
	// ViewOnly drops the peer's input (terminal.PumpConfig.ViewOnly).
	ViewOnly bool
	// RingSize > 0 makes the terminal resumable (session_detach.go): it
	// keeps this many bytes of scrollback and outlives its peer connection.
	RingSize int
	// RingFile, when set with RingSize, is the agent's memfd that keeps the
	// ring (terminal.SharedRing): mapped during HandoffTerminal, so the
	// caller closes it afterwards.
	RingFile *os.File
}

// HandoffTerminal makes the session pump its terminal from h.File instead
// of an agent Terminal stream; see sidecar.proto and docs/protocol.md.
func (m *Manager) HandoffTerminal(id string, h Handoff) error {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return ErrShutdown
	}
	s, err := m.Session(id)
	if err != nil {
		return err
	}
	return s.handoffTerminal(h)
}

// EndTerminal sends the exit (and an optional error) of a handed-over
// terminal after the output already read. With noExit it sends only the
// error (errCode is then required, by the caller), and it also works on a
// session that got no descriptor: its bridge is claimed so that nothing
// attaches after it.
func (m *Manager) EndTerminal(ctx context.Context, id string, code int32, errCode, errMessage string, noExit bool) error {
	s, err := m.Session(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	p, rp := s.pump, s.rpump
	s.mu.Unlock()
	switch {
	case rp != nil:
		return rp.End(ctx, code, errCode, errMessage, !noExit)
	case p != nil:
		return p.End(ctx, code, errCode, errMessage, !noExit)
	case noExit:
		return s.endUnattached(ctx, errCode, errMessage)
	}
	return ErrNoHandoff
}

// endUnattached sends an error on a terminal channel that no descriptor or
// stream has (the shell could not start), once the channel is open.
func (s *Session) endUnattached(ctx context.Context, errCode, errMessage string) error {
	if s.kind != KindTerminal {
		return ErrNotTerminal
	}
	select {
	case <-s.termOpen:
	case <-s.closingCh:
		return ErrSessionNotFound
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	b, handedOver := s.term, s.pump != nil || s.rpump != nil
	s.mu.Unlock()
	if handedOver {
		return terminal.ErrAlreadyAttached
	}
	if err := b.Attach(); err != nil {
		return err
	}
	defer b.Detach()
	return b.Error(ctx, errCode, errMessage)
}

// Recording claims the recording of a handed-over terminal for its one
// reader.
func (m *Manager) Recording(id string) (*terminal.Recorder, error) {
	s, err := m.Session(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	rec := s.recorder
	s.mu.Unlock()
	if rec == nil {
		return nil, ErrNoRecording
	}
	if err := rec.Claim(); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Session) handoffTerminal(h Handoff) error {
	if s.kind != KindTerminal {
		return ErrNotTerminal
	}
	if len(h.Preread) > terminal.MaxPreread {
		return terminal.ErrOutputTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing || !s.answered:
		return ErrSessionNotFound
	case s.pump != nil || s.rpump != nil || (s.term != nil && s.term.Attached()):
		return terminal.ErrAlreadyAttached
	}
	var rec *terminal.Recorder
	if h.Record {
		rec = terminal.NewRecorder()
	}
	cfg := terminal.PumpConfig{
		File:        h.File,
		Preread:     h.Preread,
		Recorder:    rec,
		RecordInput: h.RecordInput,
		ViewOnly:    h.ViewOnly,
		Log:         s.log,
		Hooks:       s.sessionHooks(),
	}
	if h.RingSize > 0 {
		rp := s.newResumable(cfg, h.RingSize, h.RingFile)
		s.rpump, s.served, s.recorder = rp, make(chan struct{}), rec
		go s.runResumable(rp, s.served)
		s.log.Info("resumable terminal descriptor handed over", "ring", h.RingSize, "record", h.Record)
		return nil
	}
	p := terminal.NewPump(cfg)
	s.pump, s.recorder = p, rec
	go s.runPump(p)
	s.log.Info("terminal descriptor handed over", "preread", len(h.Preread), "record", h.Record, "record_input", h.RecordInput)
	return nil
}

// runPump waits for the terminal channel, then pumps until the session
// closes. finishClose waits for it (Pump.Done).
func (s *Session) runPump(p *terminal.Pump) {
	select {
	case <-s.termOpen:
	case <-s.closingCh:
		p.Discard()
		return
	}
	s.mu.Lock()
	b := s.term
	s.mu.Unlock()
	if err := b.Attach(); err != nil {
		// A Terminal stream attached between the handoff and the open.
		s.log.Warn("handed-over descriptor dropped", "err", err)
		p.Discard()
		s.emit(Event{Kind: EventTerminalEnded, Reason: terminal.EndReadError, Message: err.Error()})
		return
	}
	defer b.Detach()
	p.Run(context.Background(), b)
}
