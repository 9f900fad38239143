package rtc

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/terminal"
)

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
	b, dc, p, w := s.term, s.termDC, s.pump, s.watching
	s.mu.Unlock()
	if flush && b != nil {
		// A pump has no agent writer to wait for: EndTerminal returned
		// only once the exit was queued. Nor has a viewer (session_share.go).
		s.flush(ctx, b, dc, reason != ReasonSidecarShutdown && p == nil && w == nil)
	}
	if b != nil {
		b.Shutdown(reason)
	}
	if p != nil {
		<-p.Done() // the descriptor is closed and the pump's goroutines gone
	}
	// A peer that went away (not the agent's close) leaves a resumable terminal detached.
	detached := s.releaseResumable(!flush && reason != ReasonSidecarShutdown)
	s.stopScreen()
	var diag *ICEDiagnosis
	if s.pc != nil {
		diag = s.finalDiagnosis() // before closing: the stats go with the peer connection
		s.closePC()
	}
	var term *TerminalStats
	if b != nil {
		term = &TerminalStats{Activity: b.Activity(), HandedOver: p != nil || s.rpump != nil, Detached: detached}
	}
	s.m.remove(s)
	s.endEvents(&Event{Kind: EventClosed, Reason: reason, Message: message, ICE: diag, Terminal: term})
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
	s.stopScreen()
	s.releaseResumable(false)
	if s.pc != nil {
		s.closePC()
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
