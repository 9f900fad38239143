package x11

/*
#include <stdlib.h>
#include "x11.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Input injects pointer and keyboard events into one display with XTest.
type Input struct {
	in *C.pth_input
	th *thread
}

// OpenInput connects to display and checks for XTEST.
func OpenInput(display string) (*Input, error) {
	if err := checkName(display); err != nil {
		return nil, err
	}
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	var buf [errLen]C.char
	th := newThread()
	var in *C.pth_input
	th.do(func() { in = C.pth_input_open(name, &buf[0], errLen) })
	if in == nil {
		th.stop()
		return nil, fmt.Errorf("%w: %s", ErrOpen, C.GoString(&buf[0]))
	}
	return &Input{in: in, th: th}, nil
}

// Size is the display's size in pixels.
func (in *Input) Size() (width, height int) { return int(in.in.width), int(in.in.height) }

func result(rc C.int) error {
	switch rc {
	case 0:
		return nil
	case -1:
		return ErrDisplayLost
	default:
		return fmt.Errorf("%w: X error %d", ErrInject, int(rc))
	}
}

// Move puts the pointer at (x, y) in display pixels.
func (in *Input) Move(x, y int) error {
	var rc C.int
	in.th.do(func() { rc = C.pth_input_move(in.in, C.int(x), C.int(y)) })
	return result(rc)
}

// Button presses or releases X pointer button b (1 left, 2 middle, 3 right,
// 4/5 wheel up/down, 6/7 wheel left/right, 8/9 back/forward).
func (in *Input) Button(b int, down bool) error {
	var rc C.int
	in.th.do(func() { rc = C.pth_input_button(in.in, C.int(b), cbool(down)) })
	return result(rc)
}

// Keycode is the keycode that types keysym in the display's keymap, or 0
// when no key does.
func (in *Input) Keycode(keysym uint32) int {
	var kc C.int
	in.th.do(func() { kc = C.pth_input_keycode(in.in, C.ulong(keysym)) })
	return int(kc)
}

// Key presses or releases the key with this keycode.
func (in *Input) Key(keycode int, down bool) error {
	var rc C.int
	in.th.do(func() { rc = C.pth_input_key(in.in, C.int(keycode), cbool(down)) })
	return result(rc)
}

// Close closes the connection.
func (in *Input) Close() {
	if in.in != nil {
		in.th.do(func() { C.pth_input_close(in.in) })
		in.th.stop()
		in.in = nil
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
