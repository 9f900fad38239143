package screen

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"porthole/core-go/internal/screen/xvfbtest"
)

func pointer(t *testing.T, display string) string {
	t.Helper()
	cmd := exec.Command("xdotool", "getmouselocation", "--shell")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xdotool: %v", err)
	}
	var xy []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, "X=") || strings.HasPrefix(l, "Y=") {
			xy = append(xy, l)
		}
	}
	return strings.Join(xy, " ")
}

func replyCode(t *testing.T, reply []byte) string {
	t.Helper()
	if reply == nil {
		return ""
	}
	var m map[string]string
	if err := json.Unmarshal(reply, &m); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return m["code"]
}

// Pointer moves are mapped from the video's size to the display's and
// arrive in the X server; bad messages inject nothing.
func TestInputMapsAndInjects(t *testing.T) {
	d := xvfbtest.Start(t, 1920, 1080) // video 1280x720: x scales by 1.5
	cfg, _ := Config{Display: d, AllowInput: true}.WithDefaults()
	h, closeInput, err := NewInput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeInput()
	if code := replyCode(t, h.Handle([]byte(`{"type":"move","x":100,"y":200}`), true)); code != "" {
		t.Fatalf("move refused: %s", code)
	}
	if got := pointer(t, d); got != "X=150 Y=300" {
		t.Fatalf("pointer at %q, want X=150 Y=300", got)
	}
	for msg, code := range map[string]string{
		`{"type":"move","x":1280,"y":0}`: "out_of_range",
		`not json`:                       "bad_message",
		`{"type":"key","keysym":268435455,"down":true}`:           "unknown_keysym",
		`{"type":"button","button":1,"down":true,"x":5000,"y":1}`: "out_of_range",
	} {
		if got := replyCode(t, h.Handle([]byte(msg), true)); got != code {
			t.Errorf("%s: got %q, want %q", msg, got, code)
		}
	}
	if got := pointer(t, d); got != "X=150 Y=300" {
		t.Fatalf("a refused message moved the pointer to %q", got)
	}
	if code := replyCode(t, h.Handle([]byte(`{"type":"key","keysym":97,"down":true}`), true)); code != "" {
		t.Fatalf("key refused: %s", code)
	}
	if events, refused := h.Counts(); events != 2 || refused != 4 {
		t.Errorf("counts %d events, %d refused", events, refused)
	}
}

func TestInputNotAllowed(t *testing.T) {
	d := xvfbtest.Start(t, 640, 480)
	cfg, _ := Config{Display: d, Width: 640, Height: 480}.WithDefaults()
	h, closeInput, err := NewInput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeInput()
	before := pointer(t, d)
	if got := replyCode(t, h.Handle([]byte(`{"type":"move","x":10,"y":10}`), true)); got != "input_not_allowed" {
		t.Fatalf("got %q", got)
	}
	if after := pointer(t, d); after != before {
		t.Fatalf("view-only input moved the pointer: %s -> %s", before, after)
	}
}
