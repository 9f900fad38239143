package screen

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"porthole/core-go/internal/screen/vp8"
	"porthole/core-go/internal/screen/x11"
	"porthole/core-go/internal/screen/yuv"
)

// Sink takes one encoded frame lasting dur (the time since the previous
// frame sent). It runs on the streamer's goroutine; its errors are logged.
type Sink func(f vp8.Frame, dur time.Duration) error

// Streamer captures, encodes and hands frames to a sink on one goroutine.
type Streamer struct {
	cfg  Config
	log  *slog.Logger
	cap  *x11.Capture
	conv *yuv.Converter
	enc  *vp8.Encoder
	sink Sink

	keyReq   atomic.Bool // a keyframe was asked and not served yet
	keyReqs  atomic.Uint64
	wantKbps atomic.Int64 // congestion control's latest target, 0 when served

	mu    sync.Mutex // guards st, win and times
	st    Stats
	win   window
	times encodeTimes

	// manualTicks, when set (tests), replaces the frame-rate ticker: each
	// value is one tick at that time.
	manualTicks <-chan time.Time

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{} // closed when run returns (or at Close if never started)
	lost      chan struct{} // closed when the display went away
}

// loopState is run's own bookkeeping.
type loopState struct {
	first    bool
	lastSent time.Time
	lastKey  time.Time
	failures int
}

// New opens the display and builds the converter and encoder. cfg must
// have passed WithDefaults.
func New(cfg Config, sink Sink, log *slog.Logger) (*Streamer, error) {
	capt, err := x11.OpenCapture(cfg.Display)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	dw, dh := capt.Size()
	conv, err := yuv.New(dw, dh, cfg.Width, cfg.Height)
	if err != nil {
		capt.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	enc, err := vp8.New(vp8.Config{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitrateKbps: cfg.StartKbps()})
	if err != nil {
		conv.Close()
		capt.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s := &Streamer{
		cfg: cfg, log: log, cap: capt, conv: conv, enc: enc, sink: sink,
		stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{}),
	}
	s.st = Stats{
		DisplayWidth: dw, DisplayHeight: dh, VideoWidth: cfg.Width, VideoHeight: cfg.Height,
		TargetFPS: cfg.FPS, TargetKbps: enc.Bitrate(),
	}
	if !capt.HasDamage() {
		log.Warn("display has no DAMAGE extension: every frame is encoded", "display", cfg.Display)
	}
	return s, nil
}

// Start begins streaming (once; later calls do nothing).
func (s *Streamer) Start() {
	s.startOnce.Do(func() {
		select {
		case <-s.stop:
			close(s.done) // closed before it started: nothing to wait for
			return
		default:
		}
		go s.run()
	})
}

// RequestKeyframe asks for a keyframe (PLI/FIR), served within
// KeyframeMinInterval of the previous one.
func (s *Streamer) RequestKeyframe() {
	s.keyReqs.Add(1)
	s.keyReq.Store(true)
}

// SetBitrate sets the target (bits per second, congestion control's unit),
// clamped to the configured bounds; it applies from the next frame.
func (s *Streamer) SetBitrate(bps int) {
	kbps := min(max(bps/1000, s.cfg.MinKbps), s.cfg.MaxKbps)
	s.wantKbps.Store(int64(kbps))
}

// Lost is closed when the display went away; the stream has stopped.
func (s *Streamer) Lost() <-chan struct{} { return s.lost }

// Stats returns a snapshot.
func (s *Streamer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.FPS, st.Kbps = s.win.fps, s.win.kbps
	st.EncodeP50, st.EncodeP99 = s.times.percentiles()
	st.KeyframeRequests = s.keyReqs.Load()
	return st
}

// Close stops the stream, waits for its goroutine and frees the display,
// converter and encoder. Safe to call more than once.
func (s *Streamer) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		started := true
		s.startOnce.Do(func() { started = false }) // a later Start does nothing
		if started {
			<-s.done
		}
		s.enc.Close()
		s.conv.Close()
		s.cap.Close()
	})
}

func (s *Streamer) run() {
	defer close(s.done)
	period := s.Period()
	ticks := s.manualTicks
	if ticks == nil {
		tick := time.NewTicker(period)
		defer tick.Stop()
		ticks = tick.C
	}
	st := loopState{first: true}
	now := time.Now()
	for {
		if err := s.step(now, period, &st); err != nil {
			if errors.Is(err, ErrDisplayLost) {
				s.log.Warn("display lost; stream stopped", "display", s.cfg.Display)
				close(s.lost)
				return
			}
			// One bad frame is logged; the stream goes on with the next one.
			if st.failures++; st.failures <= maxLoggedFailures {
				s.log.Warn("frame failed", "err", err)
			}
		}
		select {
		case <-s.stop:
			return
		case now = <-ticks:
		}
	}
}

// Period is the time between frames of a changing screen: 1 s / fps.
func (s *Streamer) Period() time.Duration { return time.Second / time.Duration(s.cfg.FPS) }

// maxLoggedFailures bounds the log lines of a stream whose frames keep
// failing (the cause is the same every time).
const maxLoggedFailures = 5

// step sends at most one frame: when the screen changed, when a keyframe is
// due, or when the last frame is RepeatInterval old.
func (s *Streamer) step(now time.Time, period time.Duration, st *loopState) error {
	changed, err := s.cap.Changed()
	if errors.Is(err, x11.ErrDisplayLost) {
		return ErrDisplayLost
	}
	wantKey := s.keyReq.Load() && now.Sub(st.lastKey) >= KeyframeMinInterval
	if !changed && !st.first && !wantKey && now.Sub(st.lastSent) < RepeatInterval {
		s.mu.Lock()
		s.st.Skipped++
		s.win.update(now, s.st.Frames, s.st.BytesEncoded)
		s.mu.Unlock()
		return nil
	}
	t0 := time.Now()
	if changed || st.first {
		f, err := s.cap.Grab()
		if errors.Is(err, x11.ErrDisplayLost) {
			return ErrDisplayLost
		}
		if err != nil {
			return err
		}
		if err := s.conv.Convert(f.Pix, f.Stride, s.enc.Image()); err != nil {
			return err
		}
	}
	if kbps := int(s.wantKbps.Swap(0)); kbps != 0 && kbps != s.enc.Bitrate() {
		if err := s.enc.SetBitrate(kbps); err != nil {
			return err
		}
	}
	if wantKey {
		s.keyReq.Store(false) // a request arriving from here on gets its own keyframe
	}
	dur := period
	if !st.lastSent.IsZero() {
		dur = now.Sub(st.lastSent)
	}
	frames, err := s.enc.Encode(now, dur, wantKey)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	st.first = false
	st.lastSent = now
	s.mu.Lock()
	s.st.LastEncode = took
	s.times.add(took)
	s.st.TargetKbps = s.enc.Bitrate()
	for _, f := range frames {
		s.st.Frames++
		s.st.BytesEncoded += uint64(len(f.Data))
		if f.Key {
			s.st.Keyframes++
			st.lastKey = now
		}
	}
	s.win.update(now, s.st.Frames, s.st.BytesEncoded)
	s.mu.Unlock()
	for _, f := range frames {
		if err := s.sink(f, dur); err != nil {
			return fmt.Errorf("send frame: %w", err)
		}
	}
	return nil
}
