package rtc

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"porthole/core-go/internal/screen"
	"porthole/core-go/internal/screen/clipboard"
	"porthole/core-go/internal/screen/input"
	"porthole/core-go/internal/screen/vp8"
)

// inputReplyBufferLimit bounds the replies (pongs, errors) queued on an
// `input` channel: each is under 200 bytes, so 64 KiB is hundreds of them;
// past it, a peer sending garbage without reading cannot grow our memory.
const inputReplyBufferLimit = 64 << 10

// clipboardBufferLimit bounds what waits on a `clipboard` channel: two
// whole texts (clipboard.MaxText); past it copies are not sent.
const clipboardBufferLimit = 2 * clipboard.MaxText

var errClipboardBacklog = errors.New("clipboard channel backlog over its limit")

// screenParts is what a screen session owns besides its peer connection.
type screenParts struct {
	cfg        screen.Config
	api        *webrtc.API
	estimators <-chan cc.BandwidthEstimator
	streamer   *screen.Streamer
	track      *webrtc.TrackLocalStaticSample
	input      *input.Handler
	closeInput func()
	clipboard  *screen.Clipboard
}

// prepareScreen opens the display (capture and, when allowed, input) and
// builds the session's API, before any peer connection exists.
func (s *Session) prepareScreen(cfg screen.Config) error {
	api, estimators, err := newScreenAPI(s.m.se, cfg)
	if err != nil {
		return err
	}
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "screen", "porthole-"+s.id)
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	sink := func(f vp8.Frame, d time.Duration) error {
		err := track.WriteSample(media.Sample{Data: f.Data, Duration: d})
		if errors.Is(err, io.ErrClosedPipe) {
			return nil // closing
		}
		return err
	}
	st, err := screen.New(cfg, sink, s.log)
	if err != nil {
		return err
	}
	h, closeInput, err := screen.NewInput(cfg)
	if err != nil {
		st.Close()
		return err
	}
	audit := func(t clipboard.Transfer) {
		s.emit(Event{Kind: EventClipboard, Clipboard: &t})
	}
	clip, err := screen.NewClipboard(cfg, audit, s.log)
	if err != nil {
		closeInput()
		st.Close()
		return err
	}
	s.screen = &screenParts{cfg: cfg, api: api, estimators: estimators, streamer: st, track: track,
		input: h, closeInput: closeInput, clipboard: clip}
	return nil
}

// attachScreen adds the video track to pc (before the offer is applied, so
// the offer's video section takes it), reads the peer's RTCP for keyframe
// requests and follows congestion control.
func (s *Session) attachScreen(pc *webrtc.PeerConnection) error {
	sc := s.screen
	sender, err := pc.AddTrack(sc.track)
	if err != nil {
		return fmt.Errorf("add video track: %w", err)
	}
	select {
	case e := <-sc.estimators:
		e.OnTargetBitrateChange(sc.streamer.SetBitrate)
	default:
		s.log.Warn("no congestion controller for the session; bitrate stays at its start value")
	}
	go s.readRTCP(sender)
	go func() {
		select {
		case <-sc.streamer.Lost():
			s.autoClose(ReasonScreenLost, "the X display went away")
		case <-s.closingCh:
		}
	}()
	return nil
}

// readRTCP drives the sender's interceptors and turns PLI and FIR into
// keyframe requests. It ends when the peer connection closes.
func (s *Session) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.screen.streamer.RequestKeyframe()
			}
		}
	}
}

// onScreenChannel accepts the one `input` and the one `clipboard` channel
// of a screen session.
func (s *Session) onScreenChannel(dc *webrtc.DataChannel) bool {
	if dc.Label() == clipboard.Label {
		return s.onClipboardChannel(dc)
	}
	s.mu.Lock()
	if s.screen == nil || dc.Label() != input.Label || s.inputDC != nil || s.closing {
		s.mu.Unlock()
		return false
	}
	s.inputDC = dc
	s.channels = append(s.channels, dc)
	s.mu.Unlock()
	h := s.screen.input
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		reply := h.Handle(msg.Data, msg.IsString)
		if reply == nil {
			return
		}
		if dc.BufferedAmount() > inputReplyBufferLimit {
			return // a peer that floods and does not read gets no more replies
		}
		if err := dc.SendText(string(reply)); err != nil {
			s.log.Debug("input reply not sent", "err", err)
		}
	})
	dc.OnOpen(func() {
		s.emit(Event{Kind: EventChannelOpened, Label: dc.Label(), Protocol: dc.Protocol()})
	})
	return true
}

// onClipboardChannel accepts the `clipboard` channel: the page's pastes go
// to the display, the display's copies come back once it is open.
func (s *Session) onClipboardChannel(dc *webrtc.DataChannel) bool {
	s.mu.Lock()
	if s.screen == nil || s.clipDC != nil || s.closing {
		s.mu.Unlock()
		return false
	}
	s.clipDC = dc
	s.channels = append(s.channels, dc)
	s.mu.Unlock()
	h := s.screen.clipboard.Handler
	send := func(b []byte) error {
		if dc.BufferedAmount() > clipboardBufferLimit {
			return errClipboardBacklog // a peer that does not read gets no more
		}
		return dc.SendText(string(b))
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if reply := h.Handle(msg.Data, msg.IsString); reply != nil {
			if err := send(reply); err != nil {
				s.log.Debug("clipboard reply not sent", "err", err)
			}
		}
	})
	dc.OnOpen(func() {
		h.Attach(send)
		s.emit(Event{Kind: EventChannelOpened, Label: dc.Label(), Protocol: dc.Protocol()})
	})
	return true
}

// startScreen starts the stream once the peer is connected.
func (s *Session) startScreen() {
	if s.screen != nil {
		s.screen.streamer.Start()
	}
}

// stopScreen stops the stream and releases held input, then the display.
func (s *Session) stopScreen() {
	if s.screen == nil {
		return
	}
	s.screen.streamer.Close()
	s.screen.closeInput()
	s.screen.clipboard.Close()
}

func (s *Session) screenStats() *screen.Stats {
	if s.screen == nil {
		return nil
	}
	st := s.screen.streamer.Stats()
	st.InputEvents, st.InputErrors = s.screen.input.Counts()
	return &st
}
