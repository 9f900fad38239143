// Package x11 is the only cgo boundary to Xlib: a capture connection that
// reads the root window through MIT-SHM and learns of changes through the
// DAMAGE extension, and an input connection that injects events with XTest.
//
// Each Capture, Input and Clipboard owns its own X connection and must be
// used from one goroutine at a time (Xlib is not safe for concurrent use of a
// connection); its Xlib calls run on an OS thread of its own (thread.go), so
// any goroutine may make them, Close included.
// A display that goes away (the X server exits) makes every call return
// ErrDisplayLost instead of ending the process, as Xlib would by default.
package x11

/*
#cgo LDFLAGS: -lX11 -lXext -lXtst -lXdamage -lXfixes
#include <stdlib.h>
#include "x11.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// errLen is the size of the C error buffer: one short line.
const errLen = 256

// MaxDisplayNameLen bounds a display name ($DISPLAY): it is a host, a
// number and a screen, never long.
const MaxDisplayNameLen = 256

// Frame is one captured image of the whole display, 32 bits per pixel in
// memory order B, G, R, X. Pix points into shared memory owned by the
// Capture and is valid until the next Grab or Close.
type Frame struct {
	Pix           unsafe.Pointer
	Stride        int // bytes per row
	Width, Height int
}

// Capture reads one display.
type Capture struct {
	c  *C.pth_capture
	th *thread
}

func checkName(display string) error {
	if display == "" || len(display) > MaxDisplayNameLen || strings.ContainsRune(display, 0) {
		return fmt.Errorf("%w: %q", ErrBadDisplayName, display)
	}
	return nil
}

// OpenCapture connects to display and sets up MIT-SHM and DAMAGE.
func OpenCapture(display string) (*Capture, error) {
	if err := checkName(display); err != nil {
		return nil, err
	}
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	var buf [errLen]C.char
	th := newThread()
	var c *C.pth_capture
	th.do(func() { c = C.pth_capture_open(name, &buf[0], errLen) })
	if c == nil {
		th.stop()
		return nil, fmt.Errorf("%w: %s", ErrOpen, C.GoString(&buf[0]))
	}
	return &Capture{c: c, th: th}, nil
}

// Size is the display's size in pixels.
func (c *Capture) Size() (width, height int) { return int(c.c.width), int(c.c.height) }

// HasDamage tells whether the display reports changes; without DAMAGE every
// Changed call answers true.
func (c *Capture) HasDamage() bool { return c.c.has_damage != 0 }

// Changed reports whether anything was drawn since the previous call.
func (c *Capture) Changed() (bool, error) {
	var rc C.int
	c.th.do(func() { rc = C.pth_capture_damaged(c.c) })
	switch rc {
	case -1:
		return false, ErrDisplayLost
	case 0:
		return false, nil
	default:
		return true, nil
	}
}

// Grab reads the whole display.
func (c *Capture) Grab() (Frame, error) {
	var rc C.int
	c.th.do(func() { rc = C.pth_capture_grab(c.c) })
	switch rc {
	case 0:
	case -1:
		return Frame{}, ErrDisplayLost
	default:
		return Frame{}, fmt.Errorf("%w: X error %d", ErrGrab, int(rc))
	}
	img := c.c.img
	return Frame{
		Pix:    unsafe.Pointer(img.data),
		Stride: int(img.bytes_per_line),
		Width:  int(c.c.width),
		Height: int(c.c.height),
	}, nil
}

// Close releases the shared memory and the connection.
func (c *Capture) Close() {
	if c.c != nil {
		c.th.do(func() { C.pth_capture_close(c.c) })
		c.th.stop()
		c.c = nil
	}
}
