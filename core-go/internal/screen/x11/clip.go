package x11

/*
#include <stdlib.h>
#include "x11.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// ErrClipboard wraps an X error of taking the selection, or another client
// keeping it.
var ErrClipboard = errors.New("x11: clipboard failed")

// Clipboard is a connection that exchanges text with the display's X
// selections: Set offers text as CLIPBOARD and PRIMARY (pasted by Ctrl+V
// and by the middle button), Poll answers the clients that paste it and
// reports what they copy to CLIPBOARD. Like Input, one goroutine at a time.
type Clipboard struct {
	c  *C.pth_clip
	th *thread
}

// Copied is the outcome of a copy on the display seen by Poll.
type Copied struct {
	Text []byte // the text, nil when refused
	// Size is the refused copy's size in bytes when known (over the limit),
	// 0 when it could not be read as text.
	Size    int
	Refused bool
}

// OpenClipboard connects to display and checks for XFIXES.
func OpenClipboard(display string) (*Clipboard, error) {
	if err := checkName(display); err != nil {
		return nil, err
	}
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	var buf [errLen]C.char
	th := newThread()
	var c *C.pth_clip
	th.do(func() { c = C.pth_clip_open(name, &buf[0], errLen) })
	if c == nil {
		th.stop()
		return nil, fmt.Errorf("%w: %s", ErrOpen, C.GoString(&buf[0]))
	}
	return &Clipboard{c: c, th: th}, nil
}

// Set offers text to the display's clients until another client copies.
func (cb *Clipboard) Set(text []byte) error {
	var p *C.char
	if len(text) > 0 {
		p = (*C.char)(C.CBytes(text))
		defer C.free(unsafe.Pointer(p))
	}
	var rc C.int
	cb.th.do(func() { rc = C.pth_clip_set(cb.c, p, C.size_t(len(text))) })
	switch rc {
	case 0:
		return nil
	case -1:
		return ErrDisplayLost
	case 1:
		return fmt.Errorf("%w: another client kept the selection", ErrClipboard)
	default:
		return fmt.Errorf("%w: X error %d", ErrClipboard, int(rc))
	}
}

// Poll waits up to timeout for the display's events and handles them; it
// returns a copy made on the display (of at most max bytes, else refused),
// or nil when none completed.
func (cb *Clipboard) Poll(timeout time.Duration, max int) (*Copied, error) {
	var out *C.char
	var n C.size_t
	var rc C.int
	cb.th.do(func() { rc = C.pth_clip_poll(cb.c, C.int(timeout.Milliseconds()), C.size_t(max), &out, &n) })
	switch rc {
	case -1:
		return nil, ErrDisplayLost
	case 1:
		defer C.free(unsafe.Pointer(out))
		return &Copied{Text: C.GoBytes(unsafe.Pointer(out), C.int(n))}, nil
	case 2:
		return &Copied{Refused: true, Size: int(n)}, nil
	default:
		return nil, nil
	}
}

// Close closes the connection (the selections we own go with it).
func (cb *Clipboard) Close() {
	if cb.c != nil {
		cb.th.do(func() { C.pth_clip_close(cb.c) })
		cb.th.stop()
		cb.c = nil
	}
}
