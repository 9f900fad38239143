package x11

import "errors"

var (
	// ErrBadDisplayName is returned for an empty or oversized display name.
	ErrBadDisplayName = errors.New("x11: bad display name")

	// ErrOpen wraps why a display could not be used (no server, no MIT-SHM,
	// no XTEST, a pixel format we do not convert).
	ErrOpen = errors.New("x11: cannot use display")

	// ErrDisplayLost is returned once the X connection broke (the server
	// exited); the Capture or Input is useless afterwards.
	ErrDisplayLost = errors.New("x11: display lost")

	// ErrGrab wraps an X error of XShmGetImage.
	ErrGrab = errors.New("x11: capture failed")

	// ErrInject wraps an X error of an XTest call.
	ErrInject = errors.New("x11: input injection failed")
)
