package input

import (
	"strings"
	"testing"
)

// holdRecorder is an Injector that keeps what it was told.
type holdRecorder struct{ ops []string }

func (r *holdRecorder) Size() (int, int)      { return 640, 360 }
func (r *holdRecorder) Keycode(ks uint32) int { return int(ks % 200) }
func (r *holdRecorder) Move(x, y int) error   { r.ops = append(r.ops, "move"); return nil }
func (r *holdRecorder) Button(b int, down bool) error {
	r.ops = append(r.ops, btn(b, down))
	return nil
}
func (r *holdRecorder) Key(kc int, down bool) error { r.ops = append(r.ops, key(down)); return nil }

func btn(_ int, down bool) string {
	return map[bool]string{true: "button-down", false: "button-up"}[down]
}
func key(down bool) string { return map[bool]string{true: "key-down", false: "key-up"}[down] }

// A held session (a shared screen's participant without control) injects
// nothing and gets input_not_allowed; holding releases what it held down;
// released again, its input is injected.
func TestHeldInputIsRefusedAndReleased(t *testing.T) {
	r := &holdRecorder{}
	h := NewHandler(r, 640, 360)
	if reply := h.Handle([]byte(`{"type":"key","keysym":65,"down":true}`), true); reply != nil {
		t.Fatalf("key refused before holding: %s", reply)
	}
	h.SetHeld(true)
	if got := strings.Join(r.ops, ","); got != "key-down,key-up" {
		t.Fatalf("holding did not release the key: %s", got)
	}
	reply := h.Handle([]byte(`{"type":"move","x":1,"y":2}`), true)
	if !strings.Contains(string(reply), CodeInputNotAllowed) {
		t.Fatalf("held input not refused: %s", reply)
	}
	if len(r.ops) != 2 {
		t.Fatalf("held input injected: %v", r.ops)
	}
	if events, refused := h.Counts(); events != 1 || refused != 1 {
		t.Fatalf("counts %d events, %d refused", events, refused)
	}
	h.SetHeld(false)
	if reply := h.Handle([]byte(`{"type":"move","x":1,"y":2}`), true); reply != nil {
		t.Fatalf("input refused after release: %s", reply)
	}
	if r.ops[len(r.ops)-1] != "move" {
		t.Fatalf("input not injected after release: %v", r.ops)
	}
}
