package terminal

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// feed runs the chunker over parts and returns the chunks and their join.
func feed(c *Chunker, parts ...[]byte) ([]string, string) {
	var out []string
	for _, p := range parts {
		out = append(out, c.Write(p)...)
	}
	out = append(out, c.Flush()...)
	return out, strings.Join(out, "")
}

func TestChunkerSplitSequences(t *testing.T) {
	text := []byte("aé€😀z") // 1, 2, 3 and 4 byte sequences
	for cut := 0; cut <= len(text); cut++ {
		for cut2 := cut; cut2 <= len(text); cut2++ {
			c := NewChunker(MaxOutputChunk)
			chunks, joined := feed(c, text[:cut], text[cut:cut2], text[cut2:])
			if joined != string(text) {
				t.Fatalf("cuts %d,%d: %q", cut, cut2, joined)
			}
			for _, ch := range chunks {
				if !utf8.ValidString(ch) {
					t.Fatalf("invalid chunk %q", ch)
				}
			}
		}
	}
}

func TestChunkerInvalidBytes(t *testing.T) {
	c := NewChunker(MaxOutputChunk)
	_, joined := feed(c, []byte("a\xffb\xe2\x82"), []byte("c"), []byte("\xf0\x9f"))
	if want := "a\ufffdb\ufffd\ufffdc\ufffd\ufffd"; joined != want {
		t.Fatalf("got %q want %q", joined, want)
	}
}

func TestChunkerLimit(t *testing.T) {
	const limit = 64
	c := NewChunker(limit)
	in := bytes.Repeat([]byte("\x1bé\"x"), 100)
	chunks, joined := feed(c, in)
	if joined != string(in) {
		t.Fatal("content changed")
	}
	for _, ch := range chunks {
		if n := len(appendJSONString(nil, ch)) - 2; n > limit {
			t.Fatalf("chunk escapes to %d > %d", n, limit)
		}
	}
	if len(chunks) < 2 {
		t.Fatal("no split")
	}
}

func FuzzChunker(f *testing.F) {
	f.Add([]byte("héllo wörld €😀"), uint8(3), uint16(6))
	f.Add([]byte("\xff\xfe\xe2\x82\xac\xf0\x9f\x98"), uint8(1), uint16(7))
	f.Add(bytes.Repeat([]byte("\x00\u2028\""), 50), uint8(5), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, step uint8, limit uint16) {
		lim := int(limit)%(MaxOutputChunk) + 6
		st := int(step)%64 + 1
		c := NewChunker(lim)
		var chunks []string
		for i := 0; i < len(data); i += st {
			chunks = append(chunks, c.Write(data[i:min(i+st, len(data))])...)
		}
		chunks = append(chunks, c.Flush()...)
		joined := strings.Join(chunks, "")
		// Whole-stream repair equals chunked repair: no sequence was split.
		if want := toValidUTF8(string(data)); joined != want {
			t.Fatalf("chunked %q != whole %q", joined, want)
		}
		for _, ch := range chunks {
			if ch == "" || !utf8.ValidString(ch) {
				t.Fatalf("bad chunk %q", ch)
			}
			enc := EncodeOutput(ch)
			var m struct{ Type, Data string }
			if err := json.Unmarshal([]byte(enc), &m); err != nil || m.Data != ch || m.Type != "output" {
				t.Fatalf("round trip of %q: %v %q", ch, err, m.Data)
			}
			if n := len(appendJSONString(nil, ch)) - 2; n > lim {
				t.Fatalf("chunk escapes to %d > %d", n, lim)
			}
		}
	})
}
