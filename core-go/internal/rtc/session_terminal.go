package rtc

import (
	"context"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/terminal"
)

// onDataChannel accepts the one `terminal` channel of a terminal session
// and closes anything else.
func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	if s.kind == KindScreen && s.onScreenChannel(dc) {
		return
	}
	if s.onFilesChannel(dc) {
		return
	}
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
	b, handedOver := s.term, s.pump != nil || s.rpump != nil
	s.mu.Unlock()
	if handedOver {
		return nil, terminal.ErrAlreadyAttached
	}
	if err := b.Attach(); err != nil {
		return nil, err
	}
	return b, nil
}
