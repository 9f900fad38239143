package terminal

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParsePeerMessage(t *testing.T) {
	ok := []struct {
		in   string
		text bool
		want PeerMessage
	}{
		{`{"type":"input","data":"ls\r"}`, true, PeerMessage{Kind: PeerInput, Data: []byte("ls\r")}},
		{`{"type":"input","data":"\u0003"}`, true, PeerMessage{Kind: PeerInput, Data: []byte{3}}},
		{`{"type":"input","data":"é✓"}`, true, PeerMessage{Kind: PeerInput, Data: []byte("é✓")}},
		{`{"type":"input","data":""}`, true, PeerMessage{Kind: PeerInput, Data: []byte{}}},
		{`{"type":"resize","cols":80,"rows":24}`, true, PeerMessage{Kind: PeerResize, Cols: 80, Rows: 24}},
		{`{"type":"resize","cols":1000,"rows":1,"extra":true}`, true, PeerMessage{Kind: PeerResize, Cols: 1000, Rows: 1}},
		{`{"type":"ping"}`, true, PeerMessage{Kind: PeerPing}},
		{` {"type":"close"} `, true, PeerMessage{Kind: PeerClose}},
		{"\x00\xffraw", false, PeerMessage{Kind: PeerInput, Data: []byte("\x00\xffraw")}},
		{`{"type":"ping"}`, false, PeerMessage{Kind: PeerInput, Data: []byte(`{"type":"ping"}`)}},
	}
	for _, c := range ok {
		got, err := ParsePeerMessage([]byte(c.in), c.text)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.Kind != c.want.Kind || string(got.Data) != string(c.want.Data) || got.Cols != c.want.Cols || got.Rows != c.want.Rows {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
	}

	bad := []string{
		``, `{`, `not json`, `[]`, `"input"`, `null`, `{}`, `{"type":5}`, `{"type":"dance"}`, `{"type":"pong"}`,
		`{"type":"input"}`, `{"type":"input","data":5}`, `{"type":"input","data":null}`,
		`{"type":"resize","cols":80}`, `{"type":"resize","cols":0,"rows":24}`, `{"type":"resize","cols":1001,"rows":24}`,
		`{"type":"resize","cols":80.5,"rows":24}`, `{"type":"resize","cols":"80","rows":24}`, `{"type":"resize","cols":-1,"rows":24}`,
		`{"type":"resize","cols":99999999999999999999,"rows":24}`, `{"type":"input","data":"x"} trailing`,
	}
	for _, in := range bad {
		_, err := ParsePeerMessage([]byte(in), true)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != CodeBadMessage {
			t.Errorf("%q: err = %v, want bad_message", in, err)
		}
	}
}

func TestParsePeerMessageTooLarge(t *testing.T) {
	for _, text := range []bool{true, false} {
		big := []byte(`{"type":"input","data":"` + strings.Repeat("a", MaxPeerMessage) + `"}`)
		_, err := ParsePeerMessage(big, text)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != CodeMessageTooLarge {
			t.Errorf("text=%v: err = %v", text, err)
		}
	}
	exact := make([]byte, MaxPeerMessage)
	if _, err := ParsePeerMessage(exact, false); err != nil {
		t.Errorf("64 KiB binary refused: %v", err)
	}
}

func TestEncode(t *testing.T) {
	var m map[string]any
	for _, s := range []string{
		EncodeOutput("a\"b\\c\n\x1b[0m\u2028<&>é"), EncodeExit(-1), EncodeError("bad_message", "x\"\xff"), msgPong,
	} {
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if got := EncodeExit(3); got != `{"type":"exit","code":3}` {
		t.Fatal(got)
	}
	if got := EncodeOutput("é<"); got != `{"type":"output","data":"é<"}` {
		t.Fatal(got)
	}
}

func FuzzParsePeerMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"input","data":"ls\r"}`, `{"type":"resize","cols":80,"rows":24}`, `{"type":"ping"}`,
		`{"type":"close"}`, `{"type":"resize","cols":1e3,"rows":24}`, `{"type":"input","data":"\ud800"}`,
		`{"type":"input","data":"\xff"}`, `{"type":null}`, `[`, ``,
	} {
		f.Add([]byte(s), true)
	}
	f.Add([]byte{0, 1, 2, 0xff}, false)
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		msg, err := ParsePeerMessage(data, text)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || (pe.Code != CodeBadMessage && pe.Code != CodeMessageTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			// The refusal itself must be valid JSON for the peer.
			if !json.Valid([]byte(EncodeError(pe.Code, pe.Message))) {
				t.Fatalf("invalid error message for %q", data)
			}
			return
		}
		switch msg.Kind {
		case PeerInput:
			if len(msg.Data) > MaxPeerMessage {
				t.Fatalf("input of %d bytes", len(msg.Data))
			}
		case PeerResize:
			if msg.Cols < 1 || msg.Cols > 1000 || msg.Rows < 1 || msg.Rows > 1000 {
				t.Fatalf("resize %dx%d accepted", msg.Cols, msg.Rows)
			}
		case PeerPing, PeerClose:
		default:
			t.Fatalf("kind %d", msg.Kind)
		}
		if !text && msg.Kind != PeerInput {
			t.Fatal("binary message parsed as control")
		}
	})
}
