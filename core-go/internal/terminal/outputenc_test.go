package terminal

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// encodeAll runs an encoder with limit over parts and returns the messages'
// data (each decoded and checked to be an output message) and their join.
func encodeAll(t testing.TB, limit int, parts ...[]byte) ([]string, string) {
	t.Helper()
	e := NewOutputEncoder(limit)
	var out []string
	send := func(msg string) error {
		if !strings.HasPrefix(msg, outputPrefix) || !strings.HasSuffix(msg, outputSuffix) {
			t.Fatalf("not an output message: %q", msg)
		}
		if n := len(msg) - len(outputPrefix) - len(outputSuffix); n > limit || n == 0 {
			t.Fatalf("data escapes to %d bytes (limit %d): %q", n, limit, msg)
		}
		var m struct{ Type, Data string }
		if err := json.Unmarshal([]byte(msg), &m); err != nil || m.Type != "output" {
			t.Fatalf("message %q: %v", msg, err)
		}
		if !utf8.ValidString(m.Data) {
			t.Fatalf("invalid UTF-8 in %q", m.Data)
		}
		// Escaped exactly as appendJSONString escapes (EncodeOutput).
		if want := EncodeOutput(m.Data); msg != want {
			t.Fatalf("message %q, EncodeOutput gives %q", msg, want)
		}
		out = append(out, m.Data)
		return nil
	}
	for _, p := range parts {
		if err := e.Write(p, send); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(send); err != nil {
		t.Fatal(err)
	}
	return out, strings.Join(out, "")
}

func TestOutputEncoderSplitSequences(t *testing.T) {
	text := []byte("aé€😀z") // 1, 2, 3 and 4 byte sequences
	for cut := 0; cut <= len(text); cut++ {
		for cut2 := cut; cut2 <= len(text); cut2++ {
			if _, joined := encodeAll(t, MaxOutputChunk, text[:cut], text[cut:cut2], text[cut2:]); joined != string(text) {
				t.Fatalf("cuts %d,%d: %q", cut, cut2, joined)
			}
		}
	}
}

func TestOutputEncoderInvalidBytes(t *testing.T) {
	_, joined := encodeAll(t, MaxOutputChunk, []byte("a\xffb\xe2\x82"), []byte("c"), []byte("\xf0\x9f"))
	if want := "a\ufffdb\ufffd\ufffdc\ufffd\ufffd"; joined != want {
		t.Fatalf("got %q want %q", joined, want)
	}
}

func TestOutputEncoderEscapes(t *testing.T) {
	in := "plain \"q\" \\ \n\r\t\b\f \x00\x1b\x7f é \u2028\u2029 <&> \ufffd"
	msgs, joined := encodeAll(t, MaxOutputChunk, []byte(in))
	if joined != in || len(msgs) != 1 {
		t.Fatalf("got %q in %d messages", joined, len(msgs))
	}
}

func TestOutputEncoderLimit(t *testing.T) {
	for _, limit := range []int{6, 7, 64, 100} {
		in := bytes.Repeat([]byte("\x1bé\"x\u2028abc"), 100)
		msgs, joined := encodeAll(t, limit, in)
		if joined != string(in) {
			t.Fatalf("limit %d: content changed", limit)
		}
		if len(msgs) < 2 {
			t.Fatalf("limit %d: no split", limit)
		}
	}
	// A long plain run fills each message to the limit.
	msgs, _ := encodeAll(t, 64, bytes.Repeat([]byte("x"), 640))
	if len(msgs) != 10 {
		t.Fatalf("640 plain bytes in %d messages of 64", len(msgs))
	}
}

func TestOutputEncoderStopsAtSendError(t *testing.T) {
	e := NewOutputEncoder(8)
	boom := errors.New("closed")
	calls := 0
	err := e.Write([]byte(strings.Repeat("x", 40)), func(string) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d sends", err, calls)
	}
}

func FuzzOutputEncoder(f *testing.F) {
	f.Add([]byte("héllo wörld €😀"), uint8(3), uint16(6))
	f.Add([]byte("\xff\xfe\xe2\x82\xac\xf0\x9f\x98"), uint8(1), uint16(7))
	f.Add(bytes.Repeat([]byte("\x00\u2028\""), 50), uint8(5), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, step uint8, limit uint16) {
		lim := int(limit)%MaxOutputChunk + 6
		st := int(step)%64 + 1
		var parts [][]byte
		for i := 0; i < len(data); i += st {
			parts = append(parts, data[i:min(i+st, len(data))])
		}
		// Whole-stream repair equals chunked repair: no sequence was split.
		if _, joined := encodeAll(t, lim, parts...); joined != toValidUTF8(string(data)) {
			t.Fatalf("chunked %q != whole %q", joined, toValidUTF8(string(data)))
		}
	})
}

func BenchmarkOutputEncoderBase64(b *testing.B) {
	line := []byte("ZGF0YSBkYXRhIGRhdGEgZGF0YSBkYXRhIGRhdGEgZGF0YSBkYXRhIGRhdGEgZGF0YSBkYXRhIGRh\r\n")
	p := bytes.Repeat(line, 32<<10/len(line))
	e := NewOutputEncoder(MaxOutputChunk)
	send := func(string) error { return nil }
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Write(p, send); err != nil {
			b.Fatal(err)
		}
	}
}
