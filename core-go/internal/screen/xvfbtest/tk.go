package xvfbtest

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The clipboard's other X client in tests is Tk (python3's tkinter): an
// independent implementation of the selection protocol, INCR included (Tk
// sends a selection over 4000 bytes in pieces and reads large ones so).
const tkOwn = `import sys, tkinter
r = tkinter.Tk(); r.withdraw()
r.clipboard_clear(); r.clipboard_append(sys.stdin.read()); r.update()
print("owned", flush=True)
r.mainloop()
`

const tkRead = `import sys, tkinter
r = tkinter.Tk(); r.withdraw()
sys.stdout.write(r.selection_get(selection=sys.argv[1], type="UTF8_STRING"))
`

func tk(t testing.TB, display string, script string, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 (with tkinter) is needed: %v", err)
	}
	cmd := exec.Command("python3", append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	cmd.Stderr = os.Stderr
	return cmd
}

// Copy makes an X client (Tk) copy text to CLIPBOARD on display; it keeps
// the selection until the test ends or another client copies.
func Copy(t testing.TB, display, text string) {
	t.Helper()
	cmd := tk(t, display, tkOwn)
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "owned\n" {
		t.Fatalf("tk did not take the clipboard: %q %v", buf, err)
	}
}

// Paste reads a selection ("CLIPBOARD" or "PRIMARY") of display as an X
// client (Tk) would paste it.
func Paste(t testing.TB, display, selection string) string {
	t.Helper()
	out, err := tk(t, display, tkRead, selection).Output()
	if err != nil {
		t.Fatalf("tk selection_get %s: %v", selection, err)
	}
	return string(out)
}
