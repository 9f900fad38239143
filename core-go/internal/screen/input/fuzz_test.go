package input

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fuzzMaxMessages bounds the messages of one fuzz input (split at '\n'):
// enough for press, move, release sequences.
const fuzzMaxMessages = 8

// fuzzMaxSide bounds the fuzzed video and display sides, in pixels: above
// any real screen, small enough that products stay far from overflow.
const fuzzMaxSide = 1 << 14

// recorder is the display a fuzz input drives: it checks every injection
// against the display's bounds and keeps what is held down. It stands in
// for the X display only to observe what reaches it; the handler under
// test is the real one.
type recorder struct {
	t        *testing.T
	w, h     int
	keyKnown bool
	keycodes map[int]bool // keycodes Keycode handed out
	held     map[[2]int]bool
	clicks   int // Button calls of the current message
}

func (r *recorder) Size() (int, int) { return r.w, r.h }

func (r *recorder) Move(x, y int) error {
	if x < 0 || y < 0 || x >= r.w || y >= r.h {
		r.t.Fatalf("move to (%d, %d) outside the %dx%d display", x, y, r.w, r.h)
	}
	return nil
}

func (r *recorder) Button(b int, down bool) error {
	if b < 1 || b > 9 {
		r.t.Fatalf("button %d injected", b)
	}
	r.clicks++
	r.held[[2]int{0, b}] = down
	return nil
}

func (r *recorder) Keycode(keysym uint32) int {
	if keysym == 0 || keysym > MaxKeysym {
		r.t.Fatalf("keysym %#x looked up", keysym)
	}
	if !r.keyKnown {
		return 0
	}
	kc := int(keysym%248) + 8 // X keycodes are 8..255
	r.keycodes[kc] = true
	return kc
}

func (r *recorder) Key(kc int, down bool) error {
	if !r.keycodes[kc] {
		r.t.Fatalf("keycode %d injected without a lookup", kc)
	}
	r.held[[2]int{1, kc}] = down
	return nil
}

var replyCodes = map[string]bool{
	CodeBadMessage: true, CodeTooLarge: true, CodeOutOfRange: true, CodeUnknownKeysym: true,
	CodeInputNotAllowed: true, CodeDisplayLost: true, CodeInjectFailed: true,
}

// FuzzHandle drives the real Handler with up to fuzzMaxMessages messages
// on a fuzzed video and display size: every reply is nil, a pong or an
// error with a known code; every pointer position lands on the display;
// a wheel message clicks at most MaxWheelSteps per axis; the counters add
// up; ReleaseAll leaves nothing held.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"type":"move","x":639,"y":359}`), true, uint16(640), uint16(360), uint16(1920), uint16(1080), true)
	f.Add([]byte("{\"type\":\"button\",\"button\":1,\"down\":true,\"x\":5,\"y\":5}\n{\"type\":\"key\",\"keysym\":65,\"down\":true}"),
		true, uint16(1280), uint16(720), uint16(1280), uint16(720), true)
	f.Add([]byte(`{"type":"wheel","dx":-20,"dy":20}`), true, uint16(1), uint16(1), uint16(1), uint16(1), false)
	f.Add([]byte(`{"type":"ping"}`), false, uint16(0), uint16(0), uint16(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, data []byte, isString bool, vw, vh, dw, dh uint16, keyKnown bool) {
		r := &recorder{
			t: t, w: int(dw)%fuzzMaxSide + 1, h: int(dh)%fuzzMaxSide + 1, keyKnown: keyKnown,
			keycodes: map[int]bool{}, held: map[[2]int]bool{},
		}
		h := NewHandler(r, int(vw)%fuzzMaxSide+1, int(vh)%fuzzMaxSide+1)
		msgs := bytes.SplitN(data, []byte("\n"), fuzzMaxMessages)
		for _, msg := range msgs {
			r.clicks = 0
			reply := h.Handle(msg, isString)
			if r.clicks > 2*2*MaxWheelSteps {
				t.Fatalf("one message made %d button calls", r.clicks)
			}
			if reply == nil {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(reply, &m); err != nil {
				t.Fatalf("reply %q is not JSON: %v", reply, err)
			}
			switch m["type"] {
			case "pong":
			case "error":
				if code, _ := m["code"].(string); !replyCodes[code] {
					t.Fatalf("reply with unknown code: %s", reply)
				}
			default:
				t.Fatalf("reply %s", reply)
			}
		}
		events, refused := h.Counts()
		if int(events+refused) > len(msgs) {
			t.Fatalf("%d events + %d refused for %d messages", events, refused, len(msgs))
		}
		h.ReleaseAll()
		for k, down := range r.held {
			if down {
				t.Fatalf("still held after ReleaseAll: %v", k)
			}
		}
	})
}
