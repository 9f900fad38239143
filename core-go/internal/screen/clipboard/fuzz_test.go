package clipboard

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// Any sequence of messages (split at '\n') gets a JSON reply or none, never
// sets more than MaxText bytes, and sets exactly the joined pieces.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"type":"clipboard","text":"a","more":true}` + "\n" + `{"type":"clipboard","text":"b"}`))
	f.Add([]byte(`{"type":"clipboard","text":"\ud800"}`))
	f.Add([]byte(`{"type":"clipboard"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sel := &memSel{}
		h := NewHandler(sel, false, func(Transfer) {})
		var want bytes.Buffer
		for _, m := range bytes.Split(data, []byte("\n")) {
			parsed, perr := Parse(m, true)
			before := len(sel.got)
			r := h.Handle(m, true)
			if r != nil && !json.Valid(r) {
				t.Fatalf("reply not JSON: %q", r)
			}
			if perr == nil {
				want.WriteString(parsed.Text)
				if !parsed.More {
					if len(sel.got) > before && sel.got[len(sel.got)-1] != want.String() {
						t.Fatalf("set %q, want %q", sel.got[len(sel.got)-1], want.String())
					}
					want.Reset()
				}
			}
		}
		for _, s := range sel.got {
			if len(s) > MaxText || !utf8.ValidString(s) {
				t.Fatalf("set %d bytes (valid UTF-8: %v)", len(s), utf8.ValidString(s))
			}
		}
	})
}

// Chunks of any bytes join back to their valid-UTF-8 form, each message
// under the limit.
func FuzzChunks(f *testing.F) {
	f.Add([]byte("héllo"))
	f.Add([]byte{0xff, 0xfe, '<'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var got string
		for _, c := range Chunks(data) {
			if len(c) > MaxMessageSize {
				t.Fatalf("message of %d bytes", len(c))
			}
			var m struct{ Text string }
			if err := json.Unmarshal(c, &m); err != nil {
				t.Fatal(err)
			}
			got += m.Text
		}
		if got != string(bytes.ToValidUTF8(data, []byte("\uFFFD"))) {
			t.Fatalf("joined %q from %q", got, data)
		}
	})
}
