package screen

import (
	"slices"
	"time"
)

// Stats is a snapshot of a stream (ScreenStats in sidecar.proto).
type Stats struct {
	DisplayWidth, DisplayHeight int
	VideoWidth, VideoHeight     int
	FPS                         float64 // frames sent per second, last window
	TargetFPS                   int
	TargetKbps                  int
	Kbps                        float64 // produced, last window
	Frames, Keyframes           uint64
	Skipped                     uint64
	KeyframeRequests            uint64
	BytesEncoded                uint64
	InputEvents, InputErrors    uint64
	LastEncode                  time.Duration // capture + convert + encode
	EncodeP50, EncodeP99        time.Duration // over the last encodeWindow frames
}

// encodeWindow is how many recent encode times the percentiles cover: about
// 8 s of a busy screen at 30 fps, enough for a p99 that means something.
const encodeWindow = 256

// encodeTimes is a ring of recent encode durations.
type encodeTimes struct {
	d    [encodeWindow]time.Duration
	n, i int
}

func (e *encodeTimes) add(d time.Duration) {
	e.d[e.i] = d
	e.i = (e.i + 1) % encodeWindow
	e.n = min(e.n+1, encodeWindow)
}

// percentiles returns the median and the 99th percentile (nearest rank).
func (e *encodeTimes) percentiles() (p50, p99 time.Duration) {
	if e.n == 0 {
		return 0, 0
	}
	s := make([]time.Duration, e.n)
	copy(s, e.d[:e.n])
	slices.Sort(s)
	return s[(e.n-1)/2], s[(e.n-1)*99/100]
}

// window measures fps and bitrate over statsWindow.
type window struct {
	start         time.Time
	frames, bytes uint64
	fps, kbps     float64
}

func (w *window) update(now time.Time, frames, bytes uint64) {
	if w.start.IsZero() {
		w.start, w.frames, w.bytes = now, frames, bytes
		return
	}
	el := now.Sub(w.start)
	if el < statsWindow {
		return
	}
	w.fps = float64(frames-w.frames) / el.Seconds()
	w.kbps = float64(bytes-w.bytes) * 8 / 1000 / el.Seconds()
	w.start, w.frames, w.bytes = now, frames, bytes
}
