package input

import (
	"encoding/json"
	"errors"
	"sync"
)

// Injector is what the handler drives: package x11's Input in the sidecar.
type Injector interface {
	Size() (width, height int)
	Move(x, y int) error
	Button(b int, down bool) error
	Keycode(keysym uint32) int
	Key(keycode int, down bool) error
}

// ErrDisplayLost is what an Injector returns once its display is gone; the
// handler reports it as display_lost.
var ErrDisplayLost = errors.New("input: display lost")

// Wheel buttons of X: up, down, left, right.
const (
	wheelUp, wheelDown, wheelLeft, wheelRight = 4, 5, 6, 7
)

// Handler applies one session's input messages. Safe for concurrent use.
type Handler struct {
	mu      sync.Mutex // guards everything below and serializes injection
	inj     Injector   // nil when input is not allowed
	held    bool       // input allowed, but another participant has control (SetHeld)
	videoW  int
	videoH  int
	keys    map[int]bool // keycodes held down, released on Close
	buttons map[int]bool
	events  uint64
	errors  uint64
}

// NewHandler maps a video of videoW x videoH to inj's display. A nil inj
// refuses every message with input_not_allowed.
func NewHandler(inj Injector, videoW, videoH int) *Handler {
	return &Handler{inj: inj, videoW: videoW, videoH: videoH, keys: map[int]bool{}, buttons: map[int]bool{}}
}

// Handle applies one message and returns the reply to send, or nil.
func (h *Handler) Handle(data []byte, isString bool) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inj == nil {
		h.errors++
		return errorReply(&Error{Code: CodeInputNotAllowed, Message: "this session is view-only"})
	}
	if h.held {
		h.errors++
		return errorReply(&Error{Code: CodeInputNotAllowed, Message: "another participant has control of this shared screen"})
	}
	m, perr := Parse(data, isString, h.videoW, h.videoH)
	if perr == nil {
		perr = h.apply(m)
	}
	if perr != nil {
		h.errors++
		return errorReply(perr)
	}
	if m.Kind == Ping {
		return []byte(`{"type":"pong"}`)
	}
	h.events++
	return nil
}

func (h *Handler) apply(m Message) *Error {
	keycode := 0
	if m.Kind == Key { // checked before anything is injected
		if keycode = h.inj.Keycode(m.Keysym); keycode == 0 {
			return errorf(CodeUnknownKeysym, "keysym 0x%x has no key on this display", m.Keysym)
		}
	}
	if m.HasPos {
		dw, dh := h.inj.Size()
		if err := h.inj.Move(m.X*dw/h.videoW, m.Y*dh/h.videoH); err != nil {
			return injectError(err)
		}
	}
	switch m.Kind {
	case Button:
		h.buttons[m.Button] = m.Down
		return injectError(h.inj.Button(m.Button, m.Down))
	case Wheel:
		return h.wheel(m.DX, m.DY)
	case Key:
		h.keys[keycode] = m.Down
		return injectError(h.inj.Key(keycode, m.Down))
	}
	return nil
}

func (h *Handler) wheel(dx, dy int) *Error {
	click := func(b, n int) error {
		for range n {
			if err := h.inj.Button(b, true); err != nil {
				return err
			}
			if err := h.inj.Button(b, false); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	switch {
	case dy > 0:
		err = click(wheelDown, dy)
	case dy < 0:
		err = click(wheelUp, -dy)
	}
	if err == nil {
		switch {
		case dx > 0:
			err = click(wheelRight, dx)
		case dx < 0:
			err = click(wheelLeft, -dx)
		}
	}
	return injectError(err)
}

func injectError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDisplayLost):
		return &Error{Code: CodeDisplayLost, Message: "the display is gone"}
	default:
		return &Error{Code: CodeInjectFailed, Message: err.Error()}
	}
}

// ReleaseAll releases every key and button still held, so that a peer that
// vanished mid-drag leaves nothing stuck on the display.
func (h *Handler) ReleaseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked()
}

// releaseLocked is ReleaseAll with h.mu held.
func (h *Handler) releaseLocked() {
	if h.inj == nil {
		return
	}
	for k, down := range h.keys {
		if down {
			_ = h.inj.Key(k, false)
		}
	}
	for b, down := range h.buttons {
		if down {
			_ = h.inj.Button(b, false)
		}
	}
	clear(h.keys)
	clear(h.buttons)
}

// SetHeld refuses (true) or allows again (false) this session's input
// while it keeps its injector: control of a shared screen moves between its
// participants (docs/protocol.md §2f). Holding releases what the session
// held down, so that no key or button stays pressed for the next one.
func (h *Handler) SetHeld(held bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = held
	if held { // under the same lock: no key pressed between the release and the hold stays down
		h.releaseLocked()
	}
}

// Shutdown releases what is held and detaches the injector: later messages
// are refused, so the caller may close the display connection afterwards.
func (h *Handler) Shutdown() {
	h.ReleaseAll()
	h.mu.Lock()
	h.inj = nil
	h.mu.Unlock()
}

// Counts returns the events injected and the messages refused.
func (h *Handler) Counts() (events, refused uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events, h.errors
}

func errorReply(e *Error) []byte {
	b, _ := json.Marshal(map[string]string{"type": "error", "code": e.Code, "message": e.Message})
	return b
}
