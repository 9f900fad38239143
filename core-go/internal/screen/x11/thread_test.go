package x11

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"porthole/core-go/internal/screen/xvfbtest"
)

// closeTimeout bounds a Close that must return at once; a Close from
// another thread than the one that saw the connection break used to wait
// forever on Xlib's display lock.
const closeTimeout = 10 * time.Second

// onOwnThread runs f on a goroutine locked to an OS thread, waits at most
// closeTimeout for f, and keeps that thread (so a later onOwnThread runs on
// another one) until the returned func is called.
func onOwnThread(t *testing.T, what string, f func()) (release func()) {
	t.Helper()
	done, hold := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
		close(done)
		<-hold
	}()
	release = sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release)
	select {
	case <-done:
	case <-time.After(closeTimeout):
		t.Fatalf("%s did not return within %s", what, closeTimeout)
	}
	return release
}

// A connection whose server went away, seen broken from one thread, is
// closed from another: each of capture, input and clipboard returns.
func TestCloseOnAnotherThreadAfterServerGone(t *testing.T) {
	d, kill := xvfbtest.StartKillable(t, 320, 240)
	capt, err := OpenCapture(d)
	if err != nil {
		t.Fatal(err)
	}
	in, err := OpenInput(d)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := OpenClipboard(d)
	if err != nil {
		t.Fatal(err)
	}
	kill()
	release := onOwnThread(t, "the calls after the server went", func() {
		for _, err := range []error{
			func() error { _, err := capt.Changed(); return err }(),
			in.Move(1, 1),
			func() error { _, err := cb.Poll(0, 10); return err }(),
		} {
			if err != ErrDisplayLost {
				t.Errorf("call after the server went: %v, want %v", err, ErrDisplayLost)
			}
		}
	})
	// That thread is still held: Close runs on another.
	onOwnThread(t, "Close", func() {
		capt.Close()
		in.Close()
		cb.Close()
	})()
	release()
}
