package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

func TestKeptTailStartsAtALineOrARune(t *testing.T) {
	euro := "€" // e2 82 ac
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"from the first line start", "flood-li\r\nne\r\n^C\r\n$ ", "ne\r\n^C\r\n$ "},
		{"newline last", "flood\n", ""},
		{"no newline, ascii", "$ ", "$ "},
		{"no newline, inside a 3-byte rune", euro[1:] + euro + "$ ", euro + "$ "},
		{"no newline, last byte of a rune", euro[2:] + "x", "x"},
		{"no newline, inside a 4-byte rune", "😀"[1:] + "😀", "😀"},
		{"only continuation bytes", euro[1:], ""},
		{"not UTF-8: the encoder repairs it", "\x80\x80\x80\x80ab", "\x80ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(keptTail([]byte(tc.in))); got != tc.want {
				t.Fatalf("keptTail(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestKeepLastKeepsTheEnd(t *testing.T) {
	var tail []byte
	var all []byte
	for i := range 100 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, i*7)
		all = append(all, p...)
		tail = keepLast(tail, p, 64)
		want := all[max(0, len(all)-64):]
		if !bytes.Equal(tail, want) {
			t.Fatalf("after %d writes: %q, want %q", i+1, tail, want)
		}
	}
}

func TestBacklogIsSustainedOnlyAfterAWhile(t *testing.T) {
	clock := newFakeClock()
	k := backlog{now: clock.now}
	if k.sustained() {
		t.Fatal("no wait yet: not backlogged")
	}
	k.begin()
	clock.advance(flushMinBacklog / 2)
	if k.sustained() {
		t.Fatal("a short wait (one large redraw) is not a backlog")
	}
	k.end()
	for range 10 { // waits close together: one backlog
		clock.advance(backlogGap / 2)
		k.begin()
		clock.advance(10 * time.Millisecond)
		k.end()
	}
	if !k.sustained() {
		t.Fatal("waits for longer than flushMinBacklog: backlogged")
	}
	clock.advance(backlogGap + time.Millisecond)
	if k.sustained() {
		t.Fatal("the writer stopped waiting: no longer backlogged")
	}
	k.begin() // a new backlog starts from here
	clock.advance(flushMinBacklog / 2)
	if k.sustained() {
		t.Fatal("a pause longer than backlogGap starts a new backlog")
	}
	clock.advance(flushMinBacklog)
	if !k.sustained() {
		t.Fatal("waiting for longer than flushMinBacklog: backlogged")
	}
	k.reset()
	if k.sustained() {
		t.Fatal("after a flush the next needs a new backlog")
	}
}

func TestIsTerminalTellsAPTYFromASocket(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	defer ptmx.Close()
	if !isTerminal(ptmx) {
		t.Fatal("a PTY master is a terminal")
	}
	p := NewPump(PumpConfig{File: ptmx, Log: discard})
	if p.flush.enabled {
		t.Fatal("the pump flushes a PTY itself; the kernel does it")
	}
	ours, theirs := socketFiles(t)
	defer ours.Close()
	defer theirs.Close()
	if isTerminal(theirs) {
		t.Fatal("a socket is not a terminal")
	}
}

// socketFiles is a non-blocking socketpair: ours is the process side,
// theirs the descriptor handed to the pump.
func socketFiles(t *testing.T) (ours, theirs *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "process"), os.NewFile(uintptr(fds[1]), "handed-over")
}

// flushRig is a pump (plain or resumable) over a socketpair and a bridge
// on a fake channel whose clock the test moves.
type flushRig struct {
	t       *testing.T
	ch      *fakeChannel
	b       *Bridge
	clock   *fakeClock
	process *os.File
	stop    func()
}

func newFlushRig(t *testing.T, binary, resumable bool) *flushRig {
	return newFlushRigHooks(t, binary, resumable, PumpHooks{})
}

func newFlushRigHooks(t *testing.T, binary, resumable bool, hooks PumpHooks) *flushRig {
	ours, theirs := socketFiles(t)
	r := &flushRig{t: t, ch: &fakeChannel{}, clock: newFakeClock(), process: ours}
	r.b = NewBridge(r.ch, binary, discard, nil)
	r.b.backlog.now = r.clock.now
	cfg := PumpConfig{File: theirs, Log: discard, Hooks: hooks}
	if resumable {
		rp := NewResumablePump(cfg, 1<<20)
		go rp.Serve(r.b)
		r.stop = func() { r.b.Shutdown("test"); rp.Close() }
	} else {
		p := NewPump(cfg)
		go p.Run(context.Background(), r.b)
		r.stop = func() { r.b.Shutdown("test"); <-p.Done() }
	}
	t.Cleanup(func() { r.stop(); ours.Close() })
	return r
}

// waitBacklog returns once the pump's writer waits for room in the channel.
func (r *flushRig) waitBacklog() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.b.backlog.mu.Lock()
		waiting := r.b.backlog.waiting
		r.b.backlog.mu.Unlock()
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatal("the pump never waited for the channel")
		}
		time.Sleep(time.Millisecond)
	}
}

// typed sends input from the peer.
func (r *flushRig) typed(s string) {
	if r.b.Binary() {
		r.b.HandleMessage([]byte(s), false)
		return
	}
	msg, _ := json.Marshal(map[string]string{"type": "input", "data": s})
	r.b.HandleMessage(msg, true)
}

// output is what the peer received so far, decoded.
func (r *flushRig) output() []byte {
	r.ch.mu.Lock()
	defer r.ch.mu.Unlock()
	var out []byte
	for _, p := range r.ch.binary {
		out = append(out, p...)
	}
	for _, s := range r.ch.text {
		var m struct{ Type, Data string }
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			r.t.Fatalf("bad message %q: %v", s, err)
		}
		if !utf8.ValidString(m.Data) || strings.ContainsRune(m.Data, utf8.RuneError) {
			r.t.Fatalf("output message %q splits or repairs a UTF-8 sequence", m.Data)
		}
		out = append(out, m.Data...)
	}
	return out
}

func (r *flushRig) waitOutput(what string, cond func([]byte) bool) []byte {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := r.output()
		if cond(out) {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s; the peer got %d bytes: %q", what, len(out), out[max(0, len(out)-200):])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readInput reads what the pump wrote to the process until it holds want.
func (r *flushRig) readInput(want byte) {
	r.t.Helper()
	_ = r.process.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		n, err := r.process.Read(buf)
		if bytes.IndexByte(buf[:n], want) >= 0 {
			return
		}
		if err != nil {
			r.t.Fatalf("the process never got %q: %v", want, err)
		}
	}
}

// Without a backlog Ctrl-C is a byte: it reaches the process and nothing
// is dropped (vim, less, a shell at rest).
func TestCtrlCWithoutBacklogIsJustAByte(t *testing.T) {
	for _, resumable := range []bool{false, true} {
		r := newFlushRig(t, true, resumable)
		if _, err := r.process.Write([]byte("before\r\n")); err != nil {
			t.Fatal(err)
		}
		r.waitOutput("output before Ctrl-C", func(b []byte) bool { return bytes.Contains(b, []byte("before\r\n")) })
		r.typed("\x03")
		r.readInput(interruptByte)
		if _, err := r.process.Write([]byte("^C\r\n$ ")); err != nil {
			t.Fatal(err)
		}
		out := r.waitOutput("the prompt", func(b []byte) bool { return bytes.HasSuffix(b, []byte("$ ")) })
		if want := "before\r\n^C\r\n$ "; string(out) != want {
			t.Fatalf("resumable %v: the peer got %q, want %q (nothing dropped)", resumable, out, want)
		}
	}
}

// Ctrl-C while the channel has been backlogged for a while: the pump drops
// what it holds and the flood still on the way, and the peer gets the
// marker and the prompt, never a split UTF-8 sequence (JSON mode); output
// after that flows as before.
func TestCtrlCDuringABacklogDropsTheFlood(t *testing.T) {
	for _, tc := range []struct {
		name              string
		binary, resumable bool
	}{
		{"binary", true, false},
		{"json", false, false},
		{"binary resumable", true, true},
		{"json resumable", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { ctrlCDuringABacklog(t, tc.binary, tc.resumable) })
	}
}

func ctrlCDuringABacklog(t *testing.T, binary, resumable bool) {
	r := newFlushRig(t, binary, resumable)
	r.ch.setBuffered(HighWaterMark) // the peer is far behind: the first Output waits
	// The process floods (three-byte runes, in writes that split them)
	// until it gets the interrupt byte, then prints its prompt.
	var interrupted atomic.Bool
	var wrote atomic.Int64
	flooded := make(chan struct{}) // the process printed its prompt (or its side was closed)
	go func() {
		defer close(flooded)
		flood := []byte(strings.Repeat("€flood-line\r\n", 400))
		for i := 0; !interrupted.Load(); i++ {
			n, err := r.process.Write(flood[:len(flood)-i%7])
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = r.process.Write([]byte("€\r\n^C\r\nprompt€$ "))
	}()
	r.waitBacklog()
	r.clock.advance(flushMinBacklog + time.Millisecond)
	r.typed("ls\x03") // the interrupt byte anywhere in the input
	r.readInput(interruptByte)
	interrupted.Store(true)
	select {
	case <-flooded:
	case <-time.After(5 * time.Second):
		t.Fatal("the flood never ended: nothing reads the descriptor while the channel is backlogged")
	}
	// Let the channel drain: the marker and the kept tail go out.
	r.ch.setBuffered(0)
	r.b.NotifyBufferedLow()
	out := r.waitOutput("the prompt after Ctrl-C", func(b []byte) bool { return bytes.HasSuffix(b, []byte("prompt€$ ")) })
	i := bytes.Index(out, []byte("of output dropped after Ctrl-C]\r\n"))
	if i < 0 {
		t.Fatalf("no marker in %q", out[:min(len(out), 200)])
	}
	if before := bytes.Count(out[:i], []byte("flood-line")); before > 0 {
		t.Fatalf("%d flood lines went out before the marker: the held output was not dropped", before)
	}
	if after := len(out) - i; after > flushKeep+64 {
		t.Fatalf("%d bytes after the marker of %d flooded, want at most the kept %d", after, wrote.Load(), flushKeep)
	}
	if !bytes.Contains(out, []byte("\r\n^C\r\nprompt€$ ")) {
		t.Fatalf("the tail lost the lines before the prompt: %q", out)
	}
	// Output flows again, and a Ctrl-C now (no backlog) is a byte.
	if _, err := r.process.Write([]byte("\r\nafter")); err != nil {
		t.Fatal(err)
	}
	r.waitOutput("output after the flush", func(b []byte) bool { return bytes.HasSuffix(b, []byte("prompt€$ \r\nafter")) })
	r.typed("\x03")
	r.readInput(interruptByte)
	if _, err := r.process.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	out = r.waitOutput("output after a second Ctrl-C", func(b []byte) bool { return bytes.HasSuffix(b, []byte("after!")) })
	if n := bytes.Count(out, []byte("dropped after Ctrl-C")); n != 1 {
		t.Fatalf("%d markers, want 1 (no backlog: no flush)", n)
	}
}

// A short backlog (one large screen redraw on a slow link) is not a flood:
// Ctrl-C then is a byte and every byte of output arrives.
func TestCtrlCDuringAShortBacklogDropsNothing(t *testing.T) {
	r := newFlushRig(t, true, false)
	r.ch.setBuffered(HighWaterMark)
	redraw := bytes.Repeat([]byte("\x1b[Hredraw-line\r\n"), 4000) // 64 KB, more than the socket holds
	written := make(chan error, 1)
	go func() {
		_, err := r.process.Write(redraw)
		written <- err
	}()
	r.waitBacklog()
	r.clock.advance(flushMinBacklog / 2)
	r.typed("\x03")
	r.readInput(interruptByte)
	r.ch.setBuffered(0)
	r.b.NotifyBufferedLow()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if _, err := r.process.Write([]byte("$ ")); err != nil {
		t.Fatal(err)
	}
	out := r.waitOutput("the redraw and the prompt", func(b []byte) bool { return bytes.HasSuffix(b, []byte("$ ")) })
	if want := append(redraw, "$ "...); !bytes.Equal(out, want) {
		t.Fatalf("the peer got %d bytes, want the %d of the redraw and the prompt", len(out), len(want))
	}
}

// The process ends while its flood is discarded (Ctrl-C killed the exec):
// the marker and the last lines still go out, then the end is reported.
func TestCtrlCFlushSendsTheTailWhenTheProcessEnds(t *testing.T) {
	for _, resumable := range []bool{false, true} {
		ended := make(chan string, 1)
		r := newFlushRigHooks(t, true, resumable, PumpHooks{Ended: func(reason, _ string) { ended <- reason }})
		r.ch.setBuffered(HighWaterMark)
		go func() {
			line := bytes.Repeat([]byte("flood-line\r\n"), 1000)
			for {
				if _, err := r.process.Write(line); err != nil {
					return
				}
			}
		}()
		r.waitBacklog()
		r.clock.advance(flushMinBacklog + time.Millisecond)
		r.typed("\x03")
		r.readInput(interruptByte)
		_ = unix.Shutdown(int(r.process.Fd()), unix.SHUT_WR) // the process's output ends: EOF
		r.ch.setBuffered(0)
		r.b.NotifyBufferedLow()
		select {
		case reason := <-ended:
			if reason != EndEOF {
				t.Fatalf("resumable %v: ended %q, want %q", resumable, reason, EndEOF)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("resumable %v: the end of the descriptor was not reported", resumable)
		}
		out := r.waitOutput("the marker and the tail", func(b []byte) bool {
			return bytes.Contains(b, []byte("dropped after Ctrl-C]\r\n")) && bytes.HasSuffix(b, []byte("flood-line\r\n"))
		})
		if n := bytes.Count(out, []byte("flood-line")); n > flushKeep/len("flood-line\r\n") {
			t.Fatalf("resumable %v: %d flood lines after the marker, want at most the kept tail", resumable, n)
		}
	}
}
