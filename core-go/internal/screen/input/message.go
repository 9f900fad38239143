// Package input is the `input` data channel protocol of screen sessions
// (docs/protocol.md): JSON text messages for pointer moves, buttons, wheel
// and keys (X keysyms), validated completely before anything is injected.
package input

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Label is the data channel's label.
const Label = "input"

// Limits of the protocol.
const (
	// MaxMessageSize bounds one message: the largest valid one is under 100
	// bytes, so 1 KiB leaves room for whitespace without parsing junk.
	MaxMessageSize = 1 << 10

	// MaxWheelSteps bounds the notches of one wheel message, so that one
	// message cannot queue thousands of clicks in the X server.
	MaxWheelSteps = 20

	// MaxKeysym is the largest X keysym (29 bits; Unicode keysyms are
	// 0x01000000 + code point).
	MaxKeysym = 0x1fffffff
)

// Error codes sent back as {"type":"error","code":...}.
const (
	CodeBadMessage      = "bad_message"
	CodeTooLarge        = "message_too_large"
	CodeOutOfRange      = "out_of_range"
	CodeUnknownKeysym   = "unknown_keysym"
	CodeInputNotAllowed = "input_not_allowed"
	CodeDisplayLost     = "display_lost"
	CodeInjectFailed    = "inject_failed"
)

// Kind is what a message asks for.
type Kind int

const (
	Move Kind = iota + 1
	Button
	Wheel
	Key
	Ping
)

// Message is one parsed, validated message. X and Y are video pixels
// (0 <= X < video width); HasPos is false when a button or wheel message
// carries no position.
type Message struct {
	Kind   Kind
	X, Y   int
	HasPos bool
	Button int  // X button: 1 left, 2 middle, 3 right, 8 back, 9 forward
	Down   bool // press (true) or release
	DX, DY int  // wheel notches; DY > 0 scrolls down, DX > 0 right
	Keysym uint32
}

// Error is a refused message, with the code the peer gets.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

type wire struct {
	Type   string   `json:"type"`
	X      *float64 `json:"x"`
	Y      *float64 `json:"y"`
	Button *float64 `json:"button"`
	Down   *bool    `json:"down"`
	DX     *float64 `json:"dx"`
	DY     *float64 `json:"dy"`
	Keysym *float64 `json:"keysym"`
}

// validButtons are the X buttons a button message may name; 4..7 are the
// wheel, which has its own message.
var validButtons = map[int]bool{1: true, 2: true, 3: true, 8: true, 9: true}

// Parse validates one message against a video of w x h pixels.
func Parse(data []byte, isString bool, w, h int) (Message, *Error) {
	if len(data) > MaxMessageSize {
		return Message{}, errorf(CodeTooLarge, "message of %d bytes, limit %d", len(data), MaxMessageSize)
	}
	if !isString {
		return Message{}, errorf(CodeBadMessage, "binary messages are not part of the input protocol")
	}
	var m wire
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return Message{}, errorf(CodeBadMessage, "not a JSON object of the input protocol")
	}
	if dec.More() {
		return Message{}, errorf(CodeBadMessage, "trailing data after the JSON object")
	}
	switch m.Type {
	case "ping":
		return Message{Kind: Ping}, nil
	case "move":
		x, y, has, err := position(m, w, h)
		if err != nil {
			return Message{}, err
		}
		if !has {
			return Message{}, errorf(CodeBadMessage, "move needs x and y")
		}
		return Message{Kind: Move, X: x, Y: y, HasPos: true}, nil
	case "button":
		x, y, has, err := position(m, w, h)
		if err != nil {
			return Message{}, err
		}
		b, ok := integer(m.Button)
		if !ok || m.Down == nil {
			return Message{}, errorf(CodeBadMessage, "button needs an integer button and a boolean down")
		}
		if !validButtons[b] {
			return Message{}, errorf(CodeOutOfRange, "button %d is not 1, 2, 3, 8 or 9", b)
		}
		return Message{Kind: Button, X: x, Y: y, HasPos: has, Button: b, Down: *m.Down}, nil
	case "wheel":
		x, y, has, err := position(m, w, h)
		if err != nil {
			return Message{}, err
		}
		dx, okx := integerOrZero(m.DX)
		dy, oky := integerOrZero(m.DY)
		if !okx || !oky {
			return Message{}, errorf(CodeBadMessage, "wheel dx and dy must be integers (notches)")
		}
		if abs(dx) > MaxWheelSteps || abs(dy) > MaxWheelSteps {
			return Message{}, errorf(CodeOutOfRange, "wheel steps above %d", MaxWheelSteps)
		}
		return Message{Kind: Wheel, X: x, Y: y, HasPos: has, DX: dx, DY: dy}, nil
	case "key":
		k, ok := integer(m.Keysym)
		if !ok || m.Down == nil {
			return Message{}, errorf(CodeBadMessage, "key needs an integer keysym and a boolean down")
		}
		if k <= 0 || k > MaxKeysym {
			return Message{}, errorf(CodeUnknownKeysym, "keysym %d outside 1..0x1fffffff", k)
		}
		return Message{Kind: Key, Keysym: uint32(k), Down: *m.Down}, nil
	default:
		return Message{}, errorf(CodeBadMessage, "unknown message type")
	}
}

// position reads x and y (both or neither) and checks them against w x h.
func position(m wire, w, h int) (x, y int, has bool, err *Error) {
	if m.X == nil && m.Y == nil {
		return 0, 0, false, nil
	}
	x, okx := integer(m.X)
	y, oky := integer(m.Y)
	if !okx || !oky {
		return 0, 0, false, errorf(CodeBadMessage, "x and y must both be integers")
	}
	if x < 0 || y < 0 || x >= w || y >= h {
		return 0, 0, false, errorf(CodeOutOfRange, "(%d, %d) outside the %dx%d video", x, y, w, h)
	}
	return x, y, true, nil
}

// integer accepts a JSON number with no fractional part, within int32.
func integer(f *float64) (int, bool) {
	if f == nil || *f != float64(int64(*f)) || *f < -(1<<31) || *f > 1<<31 {
		return 0, false
	}
	return int(*f), true
}

func integerOrZero(f *float64) (int, bool) {
	if f == nil {
		return 0, true
	}
	return integer(f)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
