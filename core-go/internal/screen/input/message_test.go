package input

import "testing"

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		code string // "" when valid
		want Message
	}{
		{`{"type":"move","x":10,"y":20}`, "", Message{Kind: Move, X: 10, Y: 20, HasPos: true}},
		{`{"type":"button","button":1,"down":true}`, "", Message{Kind: Button, Button: 1, Down: true}},
		{`{"type":"button","button":3,"down":false,"x":0,"y":0}`, "", Message{Kind: Button, Button: 3, HasPos: true}},
		{`{"type":"wheel","dy":-2}`, "", Message{Kind: Wheel, DY: -2}},
		{`{"type":"key","keysym":65307,"down":true}`, "", Message{Kind: Key, Keysym: 65307, Down: true}},
		{`{"type":"ping"}`, "", Message{Kind: Ping}},
		{`garbage`, CodeBadMessage, Message{}},
		{`{"type":"move","x":10}`, CodeBadMessage, Message{}},
		{`{"type":"move","x":1.5,"y":2}`, CodeBadMessage, Message{}},
		{`{"type":"move","x":"1","y":2}`, CodeBadMessage, Message{}},
		{`{"type":"move","x":640,"y":0}`, CodeOutOfRange, Message{}},
		{`{"type":"move","x":-1,"y":0}`, CodeOutOfRange, Message{}},
		{`{"type":"move","x":1e300,"y":0}`, CodeBadMessage, Message{}},
		{`{"type":"button","button":4,"down":true}`, CodeOutOfRange, Message{}},
		{`{"type":"button","button":1}`, CodeBadMessage, Message{}},
		{`{"type":"wheel","dy":1000}`, CodeOutOfRange, Message{}},
		{`{"type":"key","keysym":0,"down":true}`, CodeUnknownKeysym, Message{}},
		{`{"type":"key","keysym":536870912,"down":true}`, CodeUnknownKeysym, Message{}},
		{`{"type":"nope"}`, CodeBadMessage, Message{}},
		{`{"type":"ping"} {}`, CodeBadMessage, Message{}},
		{`[1,2]`, CodeBadMessage, Message{}},
	}
	for _, c := range cases {
		m, err := Parse([]byte(c.in), true, 640, 360)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.code != "" && (err == nil || err.Code != c.code):
			t.Errorf("%s: got %v, want %s", c.in, err, c.code)
		case c.code == "" && m != c.want:
			t.Errorf("%s: got %+v, want %+v", c.in, m, c.want)
		}
	}
	if _, err := Parse([]byte(`{"type":"ping"}`), false, 640, 360); err == nil || err.Code != CodeBadMessage {
		t.Errorf("binary message: %v", err)
	}
	big := make([]byte, MaxMessageSize+1)
	if _, err := Parse(big, true, 640, 360); err == nil || err.Code != CodeTooLarge {
		t.Errorf("large message: %v", err)
	}
}

// FuzzParse: no input panics, and whatever is accepted is in range.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"move","x":10,"y":20}`))
	f.Add([]byte(`{"type":"key","keysym":65,"down":true}`))
	f.Add([]byte(`{"type":"wheel","dx":1,"dy":-1,"x":3,"y":4}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, true, 640, 360)
		if err != nil {
			return
		}
		if m.HasPos && (m.X < 0 || m.Y < 0 || m.X >= 640 || m.Y >= 360) {
			t.Fatalf("accepted out-of-range position %+v", m)
		}
		if m.Kind == Key && (m.Keysym == 0 || m.Keysym > MaxKeysym) {
			t.Fatalf("accepted keysym %d", m.Keysym)
		}
	})
}
