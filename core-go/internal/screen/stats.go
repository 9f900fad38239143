package screen

import "time"

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
