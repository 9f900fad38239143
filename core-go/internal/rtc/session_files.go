package rtc

import (
	"context"

	"github.com/pion/webrtc/v4"

	"porthole/core-go/internal/files"
)

// onFilesChannel takes a terminal session's `files` channel (file transfer,
// relayed to the agent: files.Relay); false for any other channel. One per
// session: a second is closed.
func (s *Session) onFilesChannel(dc *webrtc.DataChannel) bool {
	if s.kind != KindTerminal || dc.Label() != files.Label {
		return false
	}
	s.mu.Lock()
	if s.files != nil || s.closing {
		s.mu.Unlock()
		s.log.Info("closing a second files channel")
		if err := dc.Close(); err != nil {
			s.log.Debug("close files channel", "err", err)
		}
		return true
	}
	r := files.NewRelay(dc, s.log)
	s.files = r
	s.channels = append(s.channels, dc)
	s.mu.Unlock()
	r.Wire(dc, func() {
		s.emit(Event{Kind: EventChannelOpened, Label: dc.Label(), Protocol: dc.Protocol()})
	})
	return true
}

// AttachFiles waits until the session's `files` channel is open and claims
// its relay for one agent stream.
func (s *Session) AttachFiles(ctx context.Context) (*files.Relay, error) {
	s.mu.Lock()
	r := s.files
	s.mu.Unlock()
	if r == nil {
		return nil, ErrNoFilesChannel
	}
	select {
	case <-r.Opened():
	case <-s.closingCh:
		return nil, ErrSessionNotFound
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := r.Attach(); err != nil {
		return nil, err
	}
	return r, nil
}

// Closing is closed once the session starts closing.
func (s *Session) Closing() <-chan struct{} { return s.closingCh }
