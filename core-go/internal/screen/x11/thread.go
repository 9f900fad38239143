package x11

import "runtime"

// thread runs every Xlib call of one connection, its open and close
// included, on one OS thread of its own.
//
// Xlib must not see a broken connection from one thread and be closed from
// another: the thread whose call met the I/O error (the X server exited)
// keeps the display's lock, and XCloseDisplay from any other thread waits
// for it forever. Goroutines move between OS threads from one cgo call to
// the next, and Close comes from whoever ends the session, so each Capture,
// Input and Clipboard hands its calls to a goroutine locked to a thread.
type thread struct {
	calls chan func()
	done  chan struct{}
}

func newThread() *thread {
	t := &thread{calls: make(chan func()), done: make(chan struct{})}
	go t.run()
	return t
}

func (t *thread) run() {
	// Never unlocked: the OS thread ends with this goroutine, so no other
	// goroutine runs on a thread that held a display (or its thread-local
	// X error, x11.c).
	runtime.LockOSThread()
	defer close(t.done)
	for f := range t.calls {
		f()
	}
}

// do runs f on the thread and returns when it is done.
func (t *thread) do(f func()) {
	ran := make(chan struct{})
	t.calls <- func() {
		defer close(ran)
		f()
	}
	<-ran
}

// stop ends the thread after the calls handed to it.
func (t *thread) stop() {
	close(t.calls)
	<-t.done
}
