// Package yuv converts captured BGRX frames to I420 with libyuv (cgo),
// scaling when the display is not the video's size.
package yuv

/*
#cgo LDFLAGS: -lyuv
#include <stdlib.h>
#include <stdint.h>
#include <libyuv/convert.h>
#include <libyuv/scale.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ErrSize is returned for sizes the converter cannot use.
var ErrSize = errors.New("yuv: bad frame size")

// Planes is an I420 image in C memory: full-size Y, quarter-size U and V.
type Planes struct {
	Y, U, V                   unsafe.Pointer
	StrideY, StrideU, StrideV int
}

// Converter turns srcW x srcH BGRX frames into dstW x dstH I420.
type Converter struct {
	srcW, srcH, dstW, dstH int
	tmp                    unsafe.Pointer // full-size I420 when scaling, else nil
	tmpPlanes              Planes
}

// New returns a converter; dst sizes must be even.
func New(srcW, srcH, dstW, dstH int) (*Converter, error) {
	if srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0 || dstW%2 != 0 || dstH%2 != 0 {
		return nil, fmt.Errorf("%w: %dx%d -> %dx%d", ErrSize, srcW, srcH, dstW, dstH)
	}
	c := &Converter{srcW: srcW, srcH: srcH, dstW: dstW, dstH: dstH}
	if srcW != dstW || srcH != dstH {
		cw, ch := (srcW+1)/2, (srcH+1)/2
		size := srcW*srcH + 2*cw*ch
		c.tmp = C.malloc(C.size_t(size))
		if c.tmp == nil {
			return nil, fmt.Errorf("yuv: out of memory for %d bytes", size)
		}
		c.tmpPlanes = Planes{
			Y: c.tmp, StrideY: srcW,
			U: unsafe.Add(c.tmp, srcW*srcH), StrideU: cw,
			V: unsafe.Add(c.tmp, srcW*srcH+cw*ch), StrideV: cw,
		}
	}
	return c, nil
}

// Scales tells whether frames are resized.
func (c *Converter) Scales() bool { return c.tmp != nil }

// Convert converts one frame (stride bytes per row) into dst.
func (c *Converter) Convert(src unsafe.Pointer, stride int, dst Planes) error {
	out := dst
	if c.tmp != nil {
		out = c.tmpPlanes
	}
	if rc := C.ARGBToI420((*C.uint8_t)(src), C.int(stride),
		(*C.uint8_t)(out.Y), C.int(out.StrideY),
		(*C.uint8_t)(out.U), C.int(out.StrideU),
		(*C.uint8_t)(out.V), C.int(out.StrideV),
		C.int(c.srcW), C.int(c.srcH)); rc != 0 {
		return fmt.Errorf("yuv: ARGBToI420 failed (%d)", int(rc))
	}
	if c.tmp == nil {
		return nil
	}
	// Bilinear: box filtering costs more and screen text gains little from it.
	if rc := C.I420Scale((*C.uint8_t)(out.Y), C.int(out.StrideY),
		(*C.uint8_t)(out.U), C.int(out.StrideU),
		(*C.uint8_t)(out.V), C.int(out.StrideV),
		C.int(c.srcW), C.int(c.srcH),
		(*C.uint8_t)(dst.Y), C.int(dst.StrideY),
		(*C.uint8_t)(dst.U), C.int(dst.StrideU),
		(*C.uint8_t)(dst.V), C.int(dst.StrideV),
		C.int(c.dstW), C.int(c.dstH), C.kFilterBilinear); rc != 0 {
		return fmt.Errorf("yuv: I420Scale failed (%d)", int(rc))
	}
	return nil
}

// Close frees the scaling buffer.
func (c *Converter) Close() {
	if c.tmp != nil {
		C.free(c.tmp)
		c.tmp = nil
	}
}
