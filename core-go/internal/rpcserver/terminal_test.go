package rpcserver

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/testpeer"
)

// peerJSON is a decoded text message received by the test peer.
type peerJSON struct {
	Type    string `json:"type"`
	Data    string `json:"data"`
	Code    any    `json:"code"`
	Message string `json:"message"`
}

func decode(t *testing.T, m testpeer.Message) peerJSON {
	t.Helper()
	if !m.IsText {
		t.Fatalf("binary message %q, want JSON text", m.Data)
	}
	var pj peerJSON
	if err := json.Unmarshal(m.Data, &pj); err != nil {
		t.Fatalf("peer got invalid JSON %q: %v", m.Data, err)
	}
	return pj
}

func TestTerminalJSON(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("json-1", testpeer.Options{})
	h.waitEvent("json-1", "channel_opened", func(e *rpcv1.SessionEvent) bool {
		return e.GetChannelOpened().GetLabel() == "terminal" && e.GetChannelOpened().GetProtocol() == ""
	})
	a, att := h.attach("json-1")
	if att.GetBinary() {
		t.Fatal("attached binary in JSON mode")
	}

	// Peer → agent.
	p.SendText(`{"type":"input","data":"ls -l\r"}`)
	if got := a.next().GetInput(); string(got) != "ls -l\r" {
		t.Fatalf("input = %q", got)
	}
	p.Send([]byte{0x1b, '[', 'A'})
	if got := a.next().GetInput(); !bytes.Equal(got, []byte{0x1b, '[', 'A'}) {
		t.Fatalf("binary input = %q", got)
	}
	p.SendText(`{"type":"resize","cols":120,"rows":40}`)
	if r := a.next().GetResize(); r.GetCols() != 120 || r.GetRows() != 40 {
		t.Fatalf("resize = %v", r)
	}
	p.SendText(`{"type":"ping"}`)
	if m := decode(t, p.Next()); m.Type != "pong" {
		t.Fatalf("ping answered with %+v", m)
	}

	// Agent → peer: multi-byte characters split across frames.
	want := "héllo € 😀 wörld"
	raw := []byte(want)
	a.output(raw[:2])  // "h" + first byte of é
	a.output(raw[2:9]) // ... into the middle of €
	a.output(raw[9:13])
	a.output(raw[13:])
	a.exit(3)
	var got strings.Builder
	for {
		m := decode(t, p.Next())
		if m.Type == "exit" {
			if m.Code != float64(3) {
				t.Fatalf("exit code %v", m.Code)
			}
			break
		}
		if m.Type != "output" || !utf8.ValidString(m.Data) || strings.ContainsRune(m.Data, utf8.RuneError) {
			t.Fatalf("bad output message %+v", m)
		}
		got.WriteString(m.Data)
	}
	if got.String() != want {
		t.Fatalf("output %q, want %q", got.String(), want)
	}

	if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "json-1", Reason: "exit"}); err != nil {
		t.Fatal(err)
	}
	if f := a.next(); f.GetClose().GetReason() != "exit" {
		t.Fatalf("last frame %v, want close", f)
	}
	if reason := h.waitClosed("json-1"); reason != "exit" {
		t.Fatalf("closed reason %q", reason)
	}
	a.end()
}

func TestTerminalBinary(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("bin-1", testpeer.Options{Protocol: "porthole-binary"})
	h.waitEvent("bin-1", "channel_opened", func(e *rpcv1.SessionEvent) bool {
		return e.GetChannelOpened().GetProtocol() == "porthole-binary"
	})
	a, att := h.attach("bin-1")
	if !att.GetBinary() {
		t.Fatal("attached not binary")
	}
	p.Send([]byte{3, 0xff, 0})
	if got := a.next().GetInput(); !bytes.Equal(got, []byte{3, 0xff, 0}) {
		t.Fatalf("input = %q", got)
	}
	p.SendText(`{"type":"input","data":"x"}`)
	if got := a.next().GetInput(); string(got) != "x" {
		t.Fatalf("json input = %q", got)
	}
	if err := a.stream.Send(&rpcv1.TerminalFromAgent{Frame: &rpcv1.TerminalFromAgent_Error{
		Error: &rpcv1.Error{Code: "exec_failed", Message: "no shell"},
	}}); err != nil {
		t.Fatal(err)
	}
	if m := decode(t, p.Next()); m.Type != "error" || m.Code != "exec_failed" || m.Message != "no shell" {
		t.Fatalf("error message %+v", m)
	}

	// Raw bytes, invalid UTF-8 included, larger than one message.
	want := bytes.Repeat([]byte("\xe2\x82\xff raw \x00"), 5000) // 45 KB
	a.output(want)
	a.exit(0)
	var got []byte
	for len(got) < len(want) {
		m := p.Next()
		if m.IsText {
			t.Fatalf("text message %q before all output", m.Data)
		}
		got = append(got, m.Data...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("binary output differs")
	}
	if m := decode(t, p.Next()); m.Type != "exit" || m.Code != float64(0) {
		t.Fatalf("exit message %+v", m)
	}
}

func TestTerminalBadInput(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("bad-1", testpeer.Options{})
	a, _ := h.attach("bad-1")

	for _, c := range []struct{ msg, code string }{
		{`{"type":"input",`, "bad_message"},
		{`{"type":"launch"}`, "bad_message"},
		{`{"type":"resize","cols":0,"rows":24}`, "bad_message"},
		{`{"type":"resize","cols":"80","rows":24}`, "bad_message"},
		{`{"type":"input","data":"` + strings.Repeat("y", 70<<10) + `"}`, "message_too_large"},
	} {
		p.SendText(c.msg)
		m := decode(t, p.Next())
		if m.Type != "error" || m.Code != c.code || m.Message == "" {
			t.Fatalf("%.40q: got %+v, want error %s", c.msg, m, c.code)
		}
	}
	p.Send(bytes.Repeat([]byte{1}, 100<<10))
	if m := decode(t, p.Next()); m.Code != "message_too_large" {
		t.Fatalf("binary oversize: %+v", m)
	}

	// The session goes on.
	p.SendText(`{"type":"input","data":"still here"}`)
	if got := a.next().GetInput(); string(got) != "still here" {
		t.Fatalf("input after errors = %q", got)
	}
}

func TestPeerFramesBeforeAttachAreKept(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("early-input", testpeer.Options{})
	p.SendText(`{"type":"resize","cols":100,"rows":30}`)
	p.SendText(`{"type":"input","data":"a"}`)
	p.SendText(`{"type":"ping"}`)
	if m := decode(t, p.Next()); m.Type != "pong" { // handled before attach
		t.Fatalf("%+v", m)
	}
	a, _ := h.attach("early-input")
	if r := a.next().GetResize(); r.GetCols() != 100 {
		t.Fatalf("resize %v", r)
	}
	if in := a.next().GetInput(); string(in) != "a" {
		t.Fatalf("input %q", in)
	}
}
