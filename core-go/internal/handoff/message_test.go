package handoff

import (
	"encoding/json"
	"errors"
	"testing"

	"porthole/core-go/internal/rtc"
	"porthole/core-go/internal/terminal"
)

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader([]byte(`{"version":1,"session_id":"s-1","kind":"pty","preread":"aGk=","record":true,"record_input":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.SessionID != "s-1" || h.Kind != KindPTY || string(h.Preread) != "hi" || !h.Record || !h.RecordInput {
		t.Fatalf("%+v", h)
	}
	if _, err := ParseHeader([]byte(`{"version":1,"session_id":"s-1","kind":"socket","preread":"not base64!"}`)); !isCode(err, CodeBadHeader) {
		t.Fatalf("bad base64: %v", err)
	}
}

func isCode(err error, code string) bool {
	var r *refusal
	return errors.As(err, &r) && r.code == code
}

// FuzzParseHeader: any bytes give a header that keeps every rule, or a
// refusal with a code; never a panic.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"version":1,"session_id":"a","kind":"socket"}`))
	f.Add([]byte(`{"version":1,"session_id":"a","kind":"pty","preread":"AAEC","record":true}`))
	f.Add([]byte(`{"version":1} {}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			var r *refusal
			if !errors.As(err, &r) || r.code == "" || r.message == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if h.Version != Version || rtc.ValidateSessionID(h.SessionID) != nil ||
			(h.Kind != KindSocket && h.Kind != KindPTY) || len(h.Preread) > terminal.MaxPreread ||
			(h.RecordInput && !h.Record) {
			t.Fatalf("accepted %+v", h)
		}
		if _, err := json.Marshal(h); err != nil {
			t.Fatal(err)
		}
	})
}
