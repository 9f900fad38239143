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

// A changing screen is sent at the configured rate: every frame's duration
// is one period (the ticker's), and frames keep coming.
func TestFramesAtConfiguredRate(t *testing.T) {
	d := xvfbtest.Start(t, 1280, 720)
	s, rec := newStreamer(t, Config{Display: d, FPS: 20})
	s.Start()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keep the screen busy
		defer close(done)
		colours := []string{"#ff0000", "#00ff00", "#0000ff"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			xvfbtest.Fill(t, d, colours[i%3])
			time.Sleep(20 * time.Millisecond)
		}
	}()
	frames := rec.waitFrames(t, 40, 20*time.Second)
	close(stop)
	<-done
	s.Close()
	if !frames[0].Key {
		t.Error("first frame is not a keyframe")
	}
	_, durs := rec.snapshot()
	var sum time.Duration
	for _, d := range durs[1:] {
		sum += d
	}
	avg := sum / time.Duration(len(durs)-1)
	// The ticker paces frames at 50 ms; a busy machine delays some ticks
	// but the mean stays near the period (frames are never sent faster).
	if avg < 45*time.Millisecond || avg > 100*time.Millisecond {
		t.Errorf("mean frame duration %v, want about 50ms (20 fps)", avg)
	}
	st := s.Stats()
	if st.Frames < 40 || st.TargetFPS != 20 || st.VideoWidth != 1280 || st.VideoHeight != 720 {
		t.Errorf("stats %+v", st)
	}
}

// A static screen is not re-encoded: frames are skipped and only a repeat
// per RepeatInterval goes out.
func TestStaticScreenSkipsFrames(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	s, rec := newStreamer(t, Config{Display: d, Width: 640, Height: 480, FPS: 30})
	s.Start()
	time.Sleep(2500 * time.Millisecond)
	s.Close()
	frames, _ := rec.snapshot()
	st := s.Stats()
	// 2.5 s at 30 fps is 75 ticks; a static screen sends the first frame and
	// one repeat a second.
	if len(frames) < 2 || len(frames) > 5 {
		t.Errorf("static screen sent %d frames, want 2..5", len(frames))
	}
	if st.Skipped < 30 {
		t.Errorf("skipped %d frames, want most of them", st.Skipped)
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
