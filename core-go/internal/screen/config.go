// Package screen streams an X11 display as VP8: capture (package x11),
// conversion to I420 (package yuv), encoding (package vp8) paced at the
// configured frame rate, with keyframes on request (rate-limited), a
// bitrate set by congestion control between bounds, and unchanged frames
// skipped. It also builds the input handler of a session (package input).
package screen

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"porthole/core-go/internal/screen/x11"
)

// Defaults and limits of ScreenOptions (sidecar.proto).
const (
	DefaultWidth, DefaultHeight = 1280, 720 // seed 000's stream
	DefaultFPS                  = 30
	DefaultMinKbps              = 300  // below this 720p text is unreadable
	DefaultMaxKbps              = 4000 // a busy 720p screen looks sharp; more buys little
	// StartKbps is where congestion control starts: seed 000's 2 Mbps.
	StartKbps = 2000

	MinSize, MaxWidth, MaxHeight = 64, 3840, 2160
	MaxFPS                       = 60
	MinKbpsLimit, MaxKbpsLimit   = 100, 50000
)

// Timing.
const (
	// RepeatInterval is how often an unchanged screen is sent again: the
	// receiver keeps counting frames (Chromium reports a freeze after
	// ~1 s-ish gaps relative to the frame rate) and a receiver whose
	// last frame was lost gets a fresh one.
	RepeatInterval = time.Second

	// KeyframeMinInterval rate-limits keyframes asked by the peer: every
	// PLI/FIR within it is served by one keyframe at its end, so a receiver
	// looping on PLI under loss cannot turn the stream into keyframes only.
	KeyframeMinInterval = 500 * time.Millisecond

	// statsWindow is the span over which fps and bitrate are measured.
	statsWindow = time.Second
)

// ErrBadOptions wraps why screen options were refused.
var ErrBadOptions = errors.New("screen: bad options")

// ErrUnavailable wraps why the display cannot be streamed (not running,
// no MIT-SHM, unsupported pixel format).
var ErrUnavailable = errors.New("screen: display unavailable")

// ErrDisplayLost is the end of a stream whose X server went away.
var ErrDisplayLost = errors.New("screen: display lost")

// Config is one screen session's settings.
type Config struct {
	Display       string
	Width, Height int
	FPS           int
	MinKbps       int
	MaxKbps       int
	AllowInput    bool
	// InputHeld (with AllowInput): the injector is opened but input is
	// refused until Handler.SetHeld(false) (a viewer of a shared screen,
	// until the owner hands it control). Such a session never writes the
	// display's clipboard.
	InputHeld bool
	// AllowClipboardRead sends what is copied on the display to the page
	// (writing to it needs AllowInput).
	AllowClipboardRead bool
}

// WithDefaults fills zero fields and validates the result.
func (c Config) WithDefaults() (Config, error) {
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = DefaultWidth, DefaultHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.MinKbps == 0 {
		c.MinKbps = min(DefaultMinKbps, max(c.MaxKbps, MinKbpsLimit))
	}
	if c.MaxKbps == 0 {
		c.MaxKbps = max(DefaultMaxKbps, c.MinKbps)
	}
	switch {
	case c.Display == "" || len(c.Display) > x11.MaxDisplayNameLen || strings.ContainsRune(c.Display, 0):
		return c, fmt.Errorf("%w: display must be 1..%d bytes", ErrBadOptions, x11.MaxDisplayNameLen)
	case c.Width < MinSize || c.Width > MaxWidth || c.Height < MinSize || c.Height > MaxHeight ||
		c.Width%2 != 0 || c.Height%2 != 0:
		return c, fmt.Errorf("%w: size %dx%d: want even, %d..%d x %d..%d", ErrBadOptions,
			c.Width, c.Height, MinSize, MaxWidth, MinSize, MaxHeight)
	case c.FPS < 1 || c.FPS > MaxFPS:
		return c, fmt.Errorf("%w: fps %d: want 1..%d", ErrBadOptions, c.FPS, MaxFPS)
	case c.MinKbps < MinKbpsLimit || c.MaxKbps > MaxKbpsLimit || c.MinKbps > c.MaxKbps:
		return c, fmt.Errorf("%w: bitrate %d..%d kbps: want %d <= min <= max <= %d", ErrBadOptions,
			c.MinKbps, c.MaxKbps, MinKbpsLimit, MaxKbpsLimit)
	}
	return c, nil
}

// StartKbps is the bitrate the stream starts at.
func (c Config) StartKbps() int { return min(max(StartKbps, c.MinKbps), c.MaxKbps) }
