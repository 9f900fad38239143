package x11

import (
	"runtime"
	"testing"

	"porthole/core-go/internal/screen/xvfbtest"
)

// Closing a clipboard connection whose server is gone returns, whether or
// not a Poll saw the loss first.
func TestClipboardCloseAfterServerGone(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, poll := range []bool{false, true} {
		d, kill := xvfbtest.StartKillable(t, 320, 240)
		cb, err := OpenClipboard(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := cb.Set([]byte("mine")); err != nil {
			t.Fatal(err)
		}
		kill()
		if poll {
			if _, err := cb.Poll(0, 10); err != ErrDisplayLost {
				t.Fatalf("poll after the server went: %v", err)
			}
		}
		cb.Close()
	}
}
