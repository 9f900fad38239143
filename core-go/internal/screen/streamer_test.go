package screen

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"porthole/core-go/internal/screen/vp8"
	"porthole/core-go/internal/screen/xvfbtest"
)

// Every test's streamer is closed (t.Cleanup) before this check runs.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Sink that keeps what it got.
type recorder struct {
	mu     sync.Mutex
	frames []vp8.Frame
	durs   []time.Duration
	got    chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1024)} }

func (r *recorder) sink(f vp8.Frame, d time.Duration) error {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.durs = append(r.durs, d)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) snapshot() ([]vp8.Frame, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]vp8.Frame(nil), r.frames...), append([]time.Duration(nil), r.durs...)
}

// waitFrames waits until n frames arrived or the deadline passed.
func (r *recorder) waitFrames(t *testing.T, n int, deadline time.Duration) []vp8.Frame {
	t.Helper()
	end := time.After(deadline)
	for {
		if f, _ := r.snapshot(); len(f) >= n {
			return f
		}
		select {
		case <-r.got:
		case <-end:
			f, _ := r.snapshot()
			t.Fatalf("got %d frames, want %d", len(f), n)
		}
	}
}

func newStreamer(t *testing.T, cfg Config) (*Streamer, *recorder) {
	t.Helper()
	cfg, err := cfg.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	s, err := New(cfg, rec.sink, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, rec
}

// A changing screen is sent once per tick of the frame-rate clock, each
// frame lasting the time since the previous one: at the configured rate.
// The ticks are the test's (a loaded machine delays real ones), and the
// real clock's period is 1 s / fps.
func TestFramesAtConfiguredRate(t *testing.T) {
	d := xvfbtest.Start(t, 640, 360)
	s, rec := newStreamer(t, Config{Display: d, Width: 640, Height: 360, FPS: 20})
	if s.Period() != 50*time.Millisecond {
		t.Fatalf("period %v for 20 fps", s.Period())
	}
	ticks := make(chan time.Time)
	s.manualTicks = ticks
	s.Start()
	rec.waitFrames(t, 1, 10*time.Second) // the first frame goes at once
	t0 := time.Now()
	colours := []string{"#ff0000", "#00ff00", "#0000ff"}
	const n = 30
	for i := 1; i <= n; i++ {
		xvfbtest.Fill(t, d, colours[i%3]) // returns once the X server drew it
		ticks <- t0.Add(time.Duration(i) * s.Period())
		rec.waitFrames(t, 1+i, 10*time.Second)
	}
	s.Close()
	frames, durs := rec.snapshot()
	if len(frames) != n+1 {
		t.Fatalf("%d frames for %d ticks", len(frames)-1, n)
	}
	if !frames[0].Key {
		t.Error("first frame is not a keyframe")
	}
	for i, d := range durs[2:] {
		if d != 50*time.Millisecond {
			t.Errorf("frame %d lasts %v, want 50ms", i+2, d)
		}
	}
	st := s.Stats()
	if st.Frames != n+1 || st.TargetFPS != 20 || st.VideoWidth != 640 || st.EncodeP50 <= 0 || st.EncodeP99 < st.EncodeP50 {
		t.Errorf("stats %+v", st)
	}
}

// A static screen is not re-encoded: ticks are skipped and only a repeat
// per RepeatInterval goes out (2 s of 30 fps ticks: the first frame and
// two repeats).
func TestStaticScreenSkipsFrames(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	s, rec := newStreamer(t, Config{Display: d, Width: 640, Height: 480, FPS: 30})
	ticks := make(chan time.Time)
	s.manualTicks = ticks
	s.Start()
	rec.waitFrames(t, 1, 10*time.Second)
	t0 := time.Now()
	for i := 1; i <= 60; i++ {
		ticks <- t0.Add(time.Duration(i) * time.Second / 30)
	}
	s.Close() // after the last tick's step
	frames, durs := rec.snapshot()
	if len(frames) != 3 {
		t.Fatalf("static screen sent %d frames over 2 s, want 3 (first + 2 repeats)", len(frames))
	}
	if durs[1] < RepeatInterval || durs[2] != RepeatInterval {
		t.Errorf("repeats after %v, want %v", durs[1:], RepeatInterval)
	}
	if st := s.Stats(); st.Skipped != 58 {
		t.Errorf("skipped %d ticks, want 58", st.Skipped)
	}
}

// A keyframe asked for (PLI) comes, and a second one within the rate limit
// is deferred rather than dropped.
func TestKeyframeOnRequest(t *testing.T) {
	d := xvfbtest.Start(t, 640, 360)
	s, rec := newStreamer(t, Config{Display: d, Width: 640, Height: 360, FPS: 30})
	s.Start()
	rec.waitFrames(t, 1, 10*time.Second)
	time.Sleep(KeyframeMinInterval) // past the first keyframe's limit
	before, _ := rec.snapshot()
	s.RequestKeyframe()
	frames := rec.waitFrames(t, len(before)+1, 5*time.Second)
	if !frames[len(before)].Key {
		t.Fatalf("frame after the request is not a keyframe")
	}
	if st := s.Stats(); st.Keyframes < 2 || st.KeyframeRequests != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A bitrate change reaches the encoder, clamped to the bounds, and a busy
// screen then produces fewer bytes per frame.
func TestBitrateChangeApplied(t *testing.T) {
	d := xvfbtest.Start(t, 640, 360)
	s, _ := newStreamer(t, Config{Display: d, Width: 640, Height: 360, FPS: 30, MinKbps: 200, MaxKbps: 3000})
	if got := s.Stats().TargetKbps; got != 2000 {
		t.Fatalf("start bitrate %d, want 2000", got)
	}
	s.SetBitrate(50_000_000)
	s.Start()
	xvfbtest.Fill(t, d, "#123456")
	waitFor(t, func() bool { return s.Stats().TargetKbps == 3000 })
	s.SetBitrate(1000)
	xvfbtest.Fill(t, d, "#654321")
	waitFor(t, func() bool { return s.Stats().TargetKbps == 200 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A display of another size is scaled to the video size.
func TestScaledDisplay(t *testing.T) {
	d := xvfbtest.Start(t, 1024, 768)
	s, rec := newStreamer(t, Config{Display: d})
	s.Start()
	rec.waitFrames(t, 1, 10*time.Second)
	st := s.Stats()
	if st.DisplayWidth != 1024 || st.DisplayHeight != 768 || st.VideoWidth != 1280 || st.VideoHeight != 720 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnavailableDisplay(t *testing.T) {
	cfg, _ := Config{Display: ":4242"}.WithDefaults()
	if _, err := New(cfg, newRecorder().sink, slog.Default()); err == nil {
		t.Fatal("opened a display that does not exist")
	}
}

func TestEncodeTimePercentiles(t *testing.T) {
	var e encodeTimes
	if p50, p99 := e.percentiles(); p50 != 0 || p99 != 0 {
		t.Fatalf("empty: %v %v", p50, p99)
	}
	for i := 1; i <= 1000; i++ { // the ring keeps the last 256: 745..1000 ms
		e.add(time.Duration(i) * time.Millisecond)
	}
	p50, p99 := e.percentiles()
	if p50 != 872*time.Millisecond || p99 != 997*time.Millisecond {
		t.Fatalf("p50 %v p99 %v", p50, p99)
	}
}

// Close before Start, and Start racing Close, never hang.
func TestCloseBeforeStart(t *testing.T) {
	d := xvfbtest.Start(t, 640, 360)
	for range 20 {
		s, _ := newStreamer(t, Config{Display: d, Width: 640, Height: 360})
		done := make(chan struct{})
		go func() { s.Start(); close(done) }()
		s.Close()
		<-done
		s.Start() // after Close: nothing
	}
}
