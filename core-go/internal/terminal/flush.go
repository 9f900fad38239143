package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Flush on interrupt (issue 14, 9) for descriptors that are not a terminal.
//
// A PTY's line discipline drops the output it holds when Ctrl-C raises
// SIGINT (unless NOFLSH). A Docker exec's descriptor is a socket: the
// container's tty flushes its own queue, but dockerd holds about 1.2 MB of
// output on the way, out of its reach, which a slow peer then watches for
// tens of seconds. So for such a descriptor the pump does what the tty
// would: when the peer's input holds the interrupt byte while the channel
// has been backlogged for a while (a flood the peer cannot keep up with,
// not an interactive program), it drops the output it has read and not yet
// sent, reads the descriptor at full speed discarding until the stream is
// quiet for flushQuiet (at most flushMaxTime), and sends a one-line marker
// and the last flushKeep bytes (the prompt printed after the interrupt)
// instead. Without such a backlog Ctrl-C is just a byte: vim, less and a
// shell at rest see it as always. What was already handed to the channel
// (at most its high mark, about BufferedTimeTarget of output) still
// arrives; pion cannot take it back.
const (
	// interruptByte is what Ctrl-C sends (VINTR's default).
	interruptByte = 0x03

	// flushMinBacklog is how long the channel must have been backlogged
	// (its writer waiting for room, waits less than backlogGap apart) for
	// an interrupt to flush: a flood, not one large screen redraw.
	flushMinBacklog = 250 * time.Millisecond

	// backlogGap is the longest pause between two waits of the writer that
	// still counts as one backlog.
	backlogGap = 100 * time.Millisecond

	// flushQuiet ends the discarding: the stream was silent this long
	// (the flooding process died; the shell printed its prompt).
	flushQuiet = 150 * time.Millisecond

	// flushMaxTime bounds the discarding when the stream never goes quiet
	// (a program that ignores SIGINT): output resumes after it.
	flushMaxTime = time.Second

	// flushKeep is how much of the end of the discarded stream is sent
	// after the marker (from its first line start): the prompt.
	flushKeep = 2 << 10
)

// isTerminal reports whether f is a terminal (a PTY master): the kernel
// flushes its output on interrupt, the pump must not.
func isTerminal(f *os.File) bool {
	sc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	if err := sc.Control(func(fd uintptr) {
		_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		tty = err == nil
	}); err != nil {
		return false
	}
	return tty
}

// backlog tracks whether a bridge's writer has been held back by the
// channel for a while. waitWritable calls begin and end around each wait.
type backlog struct {
	now func() time.Time // nil: time.Now (tests inject a clock)

	mu       sync.Mutex // guards the fields below
	waiting  bool
	runStart time.Time // the first wait of the current backlog
	lastEnd  time.Time // the end of the last wait
}

func (k *backlog) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

func (k *backlog) begin() {
	now := k.clock()
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.waiting && (k.runStart.IsZero() || now.Sub(k.lastEnd) > backlogGap) {
		k.runStart = now
	}
	k.waiting = true
}

func (k *backlog) end() {
	now := k.clock()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.waiting = false
	k.lastEnd = now
}

// sustained reports whether the writer is held back now (waiting, or it
// waited less than backlogGap ago) and has been for flushMinBacklog.
func (k *backlog) sustained() bool {
	now := k.clock()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.runStart.IsZero() || (!k.waiting && now.Sub(k.lastEnd) > backlogGap) {
		return false
	}
	return now.Sub(k.runStart) >= flushMinBacklog
}

// reset forgets the backlog (after a flush: the next one needs a new one).
func (k *backlog) reset() {
	now := k.clock()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.runStart = time.Time{}
	if k.waiting {
		k.runStart = now
	}
}

// dropPending forgets an incomplete UTF-8 sequence the JSON encoder holds:
// the rest of it was discarded.
func (b *Bridge) dropPending() {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	b.enc.Drop()
}

// interrupts is a pump's flush state: the input loop requests a flush, the
// output loop serves it.
type interrupts struct {
	enabled bool // the descriptor is not a terminal

	mu       sync.Mutex // guards the fields below
	ctx      context.Context
	cancel   context.CancelFunc
	parent   context.Context
	pending  bool // requested, not yet taken by the output loop
	flushing bool // the output loop is discarding: requests are ignored
}

// outputContext is the context the output loop sends under: parent,
// cancelled by a flush request.
func (f *interrupts) outputContext(parent context.Context) context.Context {
	if !f.enabled {
		return parent
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx == nil || f.parent != parent {
		f.ctx, f.cancel = context.WithCancel(parent)
		f.parent = parent
		if f.pending {
			f.cancel()
		}
	}
	return f.ctx
}

// request asks the output loop to flush; false when one is under way.
func (f *interrupts) request() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flushing || f.pending {
		return false
	}
	f.pending = true
	if f.cancel != nil {
		f.cancel()
	}
	return true
}

// take reports whether a flush was requested and starts it.
func (f *interrupts) take() bool {
	if !f.enabled {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.pending {
		return false
	}
	f.pending, f.flushing = false, true
	f.ctx, f.cancel = nil, nil // the next output gets a fresh context
	return true
}

func (f *interrupts) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushing = false
}

// interrupt is called with each input from the peer before it is written:
// the interrupt byte while b is backlogged requests a flush.
func (p *Pump) interrupt(b *Bridge, data []byte) {
	if !p.flush.enabled || bytes.IndexByte(data, interruptByte) < 0 || !b.backlog.sustained() {
		return
	}
	if p.flush.request() {
		p.cfg.Log.Debug("interrupt during a backlog: dropping output until the stream is quiet")
	}
}

// send writes data (read from the descriptor) to b. When a flush request
// cancels it, the backlog is discarded instead (discardBacklog) and flushed
// is true. ok is false when b is gone; err is a read error met while
// discarding, for the output loop to handle as its own.
func (p *Pump) send(ctx context.Context, b *Bridge, data []byte, stop <-chan struct{}, note func([]byte)) (ok, flushed bool, err error) {
	sendErr := b.Output(p.flush.outputContext(ctx), data)
	if sendErr == nil {
		return true, false, nil
	}
	select {
	case <-b.Done():
		return false, false, nil
	default:
	}
	if ctx.Err() != nil || !errors.Is(sendErr, context.Canceled) || !p.flush.take() {
		return false, false, nil
	}
	ok, err = p.discardBacklog(ctx, b, len(data), stop, note)
	return ok, true, err
}

// discardBacklog reads and drops the descriptor's output until it is quiet
// for flushQuiet (at most flushMaxTime), then sends the marker and the kept
// tail (after note, which records them). held is what was read and not
// sent.
func (p *Pump) discardBacklog(ctx context.Context, b *Bridge, held int, stop <-chan struct{}, note func([]byte)) (ok bool, readErr error) {
	defer p.flush.finish()
	b.dropPending()
	f := p.cfg.File
	start := time.Now()
	dropped := held
	var tail []byte
	buf := make([]byte, PumpReadSize)
	for {
		select {
		case <-stop:
			readErr = os.ErrDeadlineExceeded // End or Close: the output loop stops
		default:
		}
		if readErr != nil {
			break
		}
		deadline := time.Now().Add(flushQuiet)
		if last := start.Add(flushMaxTime); last.Before(deadline) {
			deadline = last
		}
		_ = f.SetReadDeadline(deadline)
		n, err := f.Read(buf)
		dropped += n
		tail = keepLast(tail, buf[:n], flushKeep)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				readErr = err
			}
			break // quiet, or the cap
		}
	}
	_ = f.SetReadDeadline(time.Time{})
	select {
	case <-stop: // End set its deadline before ours was cleared: stop anyway
		if readErr == nil {
			readErr = os.ErrDeadlineExceeded
		}
	default:
	}
	kept := keptTail(tail)
	dropped -= len(kept)
	msg := append([]byte(flushMarker(dropped)), kept...)
	note(msg)
	b.backlog.reset()
	p.cfg.Log.Debug("interrupt flush done", "dropped", dropped, "kept", len(kept), "took", time.Since(start))
	if err := b.Output(ctx, msg); err != nil {
		return false, readErr
	}
	return true, readErr
}

// flushMarker is the line the peer sees where output was dropped.
func flushMarker(dropped int) string {
	return fmt.Sprintf("\r\n[porthole: %d bytes of output dropped after Ctrl-C]\r\n", dropped)
}

// keepLast appends p to tail and keeps its last n bytes.
func keepLast(tail, p []byte, n int) []byte {
	if len(p) >= n {
		return append(tail[:0], p[len(p)-n:]...)
	}
	tail = append(tail, p...)
	if len(tail) > n {
		tail = append(tail[:0], tail[len(tail)-n:]...)
	}
	return tail
}

// keptTail is what to show of the end of a discarded stream: from its
// first line start (after the first newline), or when it holds none from
// its first rune start, so that it never begins inside a UTF-8 sequence
// (a sequence has at most UTFMax-1 continuation bytes; beyond that the
// bytes are not UTF-8 and the encoder repairs them).
func keptTail(tail []byte) []byte {
	if i := bytes.IndexByte(tail, '\n'); i >= 0 {
		return tail[i+1:]
	}
	i := 0
	for i < len(tail) && i < utf8.UTFMax-1 && !utf8.RuneStart(tail[i]) {
		i++
	}
	return tail[i:]
}
