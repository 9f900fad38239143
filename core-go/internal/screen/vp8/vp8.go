// Package vp8 encodes I420 images to VP8 with libvpx (cgo), with realtime
// screen-content settings: one pass, CBR, no lag frames, error resilient,
// screen content mode, a fast cpu-used level.
package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include "vp8.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"porthole/core-go/internal/screen/yuv"
)

const (
	// CPUUsed is libvpx's realtime speed level (-16..-1 in realtime mode;
	// further from 0 is faster and coarser). -8 keeps 1280x720@30 of a busy
	// screen well inside one core of the small devices we target, at a
	// quality loss that text barely shows; WebRTC uses -6 to -12 for VP8.
	CPUUsed = -8

	// Threads is the encoder's thread count. One: libvpx's VP8 row threads
	// synchronise by spinning, and on a 2-core device shared with the agent
	// and the workload, 2 threads burned 15-20x the CPU per frame of one
	// (BenchmarkStages under load: 60-85 ms against 4 ms) for no gain.
	Threads = 1

	// KeyframeMaxDistance bounds the frames between keyframes when nobody
	// asks for one: a receiver that lost a keyframe's packets and whose PLI
	// got lost too recovers within 10 s at 30 fps.
	KeyframeMaxDistance = 300

	errLen = 256
)

var (
	// ErrConfig is returned for settings libvpx refuses.
	ErrConfig = errors.New("vp8: bad encoder settings")
	// ErrEncode wraps a libvpx encode failure.
	ErrEncode = errors.New("vp8: encode failed")
)

// Config is what an encoder is built with.
type Config struct {
	Width, Height int // even, pixels
	FPS           int
	BitrateKbps   int
}

// Frame is one encoded VP8 frame.
type Frame struct {
	Data []byte
	Key  bool
}

// Encoder encodes into its own image buffer (Image) to avoid a copy.
type Encoder struct {
	c       *C.pth_vp8
	bitrate int
	epoch   time.Time
}

// New creates an encoder.
func New(cfg Config) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 || cfg.FPS <= 0 || cfg.BitrateKbps <= 0 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	p := C.pth_vp8_params{
		width: C.int(cfg.Width), height: C.int(cfg.Height), fps: C.int(cfg.FPS),
		kbps: C.int(cfg.BitrateKbps), threads: Threads, cpu_used: CPUUsed,
		keyframe_max_dist: KeyframeMaxDistance,
	}
	var buf [errLen]C.char
	c := C.pth_vp8_new(&p, &buf[0], errLen)
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrConfig, C.GoString(&buf[0]))
	}
	return &Encoder{c: c, bitrate: cfg.BitrateKbps, epoch: time.Now()}, nil
}

// Image is the I420 buffer the next Encode reads; fill it first.
func (e *Encoder) Image() yuv.Planes {
	img := e.c.img
	return yuv.Planes{
		Y: unsafe.Pointer(img.planes[0]), StrideY: int(img.stride[0]),
		U: unsafe.Pointer(img.planes[1]), StrideU: int(img.stride[1]),
		V: unsafe.Pointer(img.planes[2]), StrideV: int(img.stride[2]),
	}
}

// Encode encodes Image taken at time at, lasting dur; forceKey asks for a
// keyframe. It returns the frames produced (one, in practice).
func (e *Encoder) Encode(at time.Time, dur time.Duration, forceKey bool) ([]Frame, error) {
	pts := at.Sub(e.epoch).Milliseconds()
	d := max(dur.Milliseconds(), 1)
	key := C.int(0)
	if forceKey {
		key = 1
	}
	if rc := C.pth_vp8_encode(e.c, C.int64_t(pts), C.ulong(d), key); rc != 0 {
		return nil, fmt.Errorf("%w: vpx error %d", ErrEncode, int(rc))
	}
	var out []Frame
	for {
		var data unsafe.Pointer
		var size C.size_t
		var isKey C.int
		if C.pth_vp8_next(e.c, &data, &size, &isKey) == 0 {
			return out, nil
		}
		out = append(out, Frame{Data: C.GoBytes(data, C.int(size)), Key: isKey != 0})
	}
}

// SetBitrate changes the target bitrate; it applies from the next frame.
func (e *Encoder) SetBitrate(kbps int) error {
	if kbps <= 0 {
		return fmt.Errorf("%w: bitrate %d", ErrConfig, kbps)
	}
	if rc := C.pth_vp8_set_bitrate(e.c, C.uint(kbps)); rc != 0 {
		return fmt.Errorf("%w: set bitrate %d kbps: vpx error %d", ErrConfig, kbps, int(rc))
	}
	e.bitrate = kbps
	return nil
}

// Bitrate is the current target, kbps.
func (e *Encoder) Bitrate() int { return e.bitrate }

// Close frees the encoder.
func (e *Encoder) Close() {
	if e.c != nil {
		C.pth_vp8_free(e.c)
		e.c = nil
	}
}
