package screen

import (
	"errors"
	"fmt"

	"porthole/core-go/internal/screen/input"
	"porthole/core-go/internal/screen/x11"
)

// NewInput builds the `input` channel handler of a session. With
// AllowInput it opens an XTest connection to the display (closed by the
// returned func, after releasing held keys and buttons); without, every
// message is refused with input_not_allowed.
func NewInput(cfg Config) (*input.Handler, func(), error) {
	if !cfg.AllowInput {
		return input.NewHandler(nil, cfg.Width, cfg.Height), func() {}, nil
	}
	in, err := x11.OpenInput(cfg.Display)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	h := input.NewHandler(injector{in}, cfg.Width, cfg.Height)
	h.SetHeld(cfg.InputHeld)
	return h, func() {
		h.Shutdown()
		in.Close()
	}, nil
}

// injector adapts x11.Input to input.Injector (error vocabulary).
type injector struct{ in *x11.Input }

func (j injector) Size() (int, int)           { return j.in.Size() }
func (j injector) Keycode(ks uint32) int      { return j.in.Keycode(ks) }
func (j injector) Move(x, y int) error        { return lost(j.in.Move(x, y)) }
func (j injector) Button(b int, d bool) error { return lost(j.in.Button(b, d)) }
func (j injector) Key(kc int, d bool) error   { return lost(j.in.Key(kc, d)) }

func lost(err error) error {
	if errors.Is(err, x11.ErrDisplayLost) {
		return input.ErrDisplayLost
	}
	return err
}
