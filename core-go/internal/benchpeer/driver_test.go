package benchpeer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// One reply line per request, matched by id; errors are replies, not exits.
func TestDriverReplies(t *testing.T) {
	defer goleak.VerifyNone(t)
	in := strings.Join([]string{
		`{"id":1,"op":"raw_echo","count":2,"interval_ms":1}`,
		`{"id":2,"op":"nope","peer":"p9"}`,
		`not json`,
		`{"id":3,"op":"new"}`,
		`{"id":4,"op":"exec_drain","exec":"e9","input":"x","marker":"y"}`,
		`{"id":5,"op":"exec_open","socket":"/nonexistent/docker.sock","container":"c","timeout_s":5}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := NewDriver("lo", &out).Run(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	replies := map[int64]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("reply %q: %v", line, err)
		}
		replies[int64(r["id"].(float64))] = r
	}
	if r := replies[1]; r["ok"] != true || len(r["rtt_us"].([]any)) != 2 {
		t.Errorf("raw_echo reply %v", r)
	}
	if r := replies[2]; r["ok"] != false || !strings.Contains(r["error"].(string), "p9") {
		t.Errorf("unknown peer reply %v", r)
	}
	if r := replies[0]; r["ok"] != false {
		t.Errorf("bad JSON reply %v", r)
	}
	if r := replies[4]; r["ok"] != false || !strings.Contains(r["error"].(string), "e9") {
		t.Errorf("unknown exec reply %v", r)
	}
	if r := replies[5]; r["ok"] != false || !strings.Contains(r["error"].(string), "exec create") {
		t.Errorf("exec_open without Docker reply %v", r)
	}
	if r := replies[3]; r["ok"] != true || !strings.Contains(r["sdp"].(string), "a=candidate") {
		t.Errorf("new reply %v", r)
	}
}
