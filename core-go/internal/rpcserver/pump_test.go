package rpcserver

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/terminal"
	"porthole/core-go/internal/testpeer"
)

func TestHandoffJSON(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-json", testpeer.Options{})
	ours, theirs := streamPair(t)
	// The preread ends inside "é": the rest of it comes from the
	// descriptor, and the peer never sees a split sequence.
	h.mustHandoff(handoff.Header{SessionID: "fd-json", Kind: handoff.KindSocket, Preread: []byte("h\xc3")}, theirs)

	// A Terminal stream cannot take a handed-over session.
	if code := h.openTerminal("fd-json").end(); code != codes.AlreadyExists {
		t.Fatalf("Terminal on a handed-over session: %v, want AlreadyExists", code)
	}

	rest := []byte("\xa9llo € 😀 wörld")
	for i := range rest { // one byte a write: every sequence crosses reads
		if _, err := ours.Write(rest[i : i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	want := "héllo € 😀 wörld"
	if got := jsonOutput(t, p, len(want)); got != want {
		t.Fatalf("output %q, want %q", got, want)
	}

	// Peer → process, and resize as an event.
	p.SendText(`{"type":"input","data":"ls -l\r"}`)
	readUntil(t, ours, "ls -l\r")
	p.Send([]byte{0x1b, '[', 'A'})
	readUntil(t, ours, "\x1b[A")
	p.SendText(`{"type":"resize","cols":120,"rows":40}`)
	h.waitEvent("fd-json", "terminal_resize", func(e *rpcv1.SessionEvent) bool {
		r := e.GetTerminalResize()
		return r.GetCols() == 120 && r.GetRows() == 40
	})
	p.SendText(`{"type":"ping"}`)
	if m := decode(t, p.Next()); m.Type != "pong" {
		t.Fatalf("ping answered with %+v", m)
	}

	// Activity for idle timeouts.
	act := h.stats("fd-json").GetTerminal()
	if !act.GetHandedOver() || act.GetLastInputUnixMicros() == 0 || act.GetLastOutputUnixMicros() == 0 ||
		act.GetInputBytes() != 9 || act.GetOutputBytes() != uint64(len(want)) {
		t.Fatalf("activity %v", act)
	}

	// End of stream → event; the agent then sends the exit code.
	ours.Close()
	e := h.waitEvent("fd-json", "terminal_ended", isEnded)
	if e.GetTerminalEnded().GetReason() != "eof" {
		t.Fatalf("ended %v", e.GetTerminalEnded())
	}
	h.endTerminal("fd-json", 7)
	if m := decode(t, p.Next()); m.Type != "exit" || m.Code != float64(7) {
		t.Fatalf("exit message %+v", m)
	}
	_, err := h.client.EndTerminal(ctxT(t), &rpcv1.EndTerminalRequest{SessionId: "fd-json"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second EndTerminal: %v", err)
	}
	h.closeSession("fd-json", "exit")
}

func TestHandoffBinary(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-bin", testpeer.Options{Protocol: terminal.ProtocolBinary})
	ours, theirs := streamPair(t)
	pre := []byte("\xff\x00first")
	h.mustHandoff(handoff.Header{SessionID: "fd-bin", Kind: handoff.KindSocket, Preread: pre}, theirs)

	body := bytes.Repeat([]byte("\xe2\x82\xff raw \x00"), 5000) // 45 KB, invalid UTF-8
	if _, err := ours.Write(body); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), pre...), body...)
	var got []byte
	for len(got) < len(want) {
		m := p.Next()
		if m.IsText {
			t.Fatalf("text message %q in binary mode", m.Data)
		}
		got = append(got, m.Data...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("binary output differs (the preread must come first)")
	}
	p.Send([]byte{3, 0xff, 0})
	readUntil(t, ours, "\x03\xff\x00")

	// The agent may end it before the process did: reading stops, exit follows.
	h.endTerminal("fd-bin", 0)
	if m := decode(t, p.Next()); m.Type != "exit" || m.Code != float64(0) {
		t.Fatalf("exit message %+v", m)
	}
	h.closeSession("fd-bin", "exit")
	// The sidecar closed its copy: the process side reads EOF.
	_ = ours.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadAll(ours); err != nil {
		t.Fatalf("process side after close: %v", err)
	}
}

func TestHandoffBackpressureAndCtrlC(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-flood", testpeer.Options{Protocol: terminal.ProtocolBinary})
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "fd-flood", Kind: handoff.KindSocket}, theirs)
	p.Block() // the peer stops reading

	var sent atomic.Int64
	floodDone := make(chan struct{})
	frame := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
	go func() {
		defer close(floodDone)
		for {
			n, err := ours.Write(frame)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = ours.SetWriteDeadline(time.Now()) // ends the flood
		<-floodDone
	})

	blockedAt := waitStall(t, &sent)
	t.Logf("process blocked after %d KiB", blockedAt>>10)
	if blockedAt > maxHeldWhileBlocked {
		t.Fatalf("process wrote %d bytes before blocking", blockedAt)
	}
	buffered := h.stats("fd-flood").GetChannels()[0].GetBufferedAmount()
	if buffered > terminal.HighWaterMark+2*terminal.PumpReadSize {
		t.Fatalf("buffered amount %d above the high-water mark", buffered)
	}
	// The high mark adapts to the drain rate and falls as the peer's
	// receive window closes: a blocked writer waits above the low mark,
	// at least MinLowWaterMark.
	if buffered < terminal.MinLowWaterMark {
		t.Fatalf("buffered amount %d: the channel is not the bottleneck", buffered)
	}

	// Ctrl-C gets through while output is held back.
	p.SendText(`{"type":"input","data":"\u0003"}`)
	readUntil(t, ours, "\x03")
	if n := sent.Load(); n > maxHeldWhileBlocked {
		t.Fatalf("output grew to %d bytes while the peer was blocked", n)
	}

	// When the peer reads again, output flows again.
	p.Unblock()
	deadline := time.Now().Add(wait)
	for sent.Load() < blockedAt+4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("output did not resume (%d bytes)", sent.Load())
		}
		for drained := false; !drained; {
			select {
			case <-p.Messages:
			default:
				drained = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A real PTY with a real process flooding it: Ctrl-C from the peer stops
// it, the end of the PTY is an event, the exit code reaches the peer, and
// every descriptor is closed afterwards.
func TestHandoffPTYCtrlCUnderFlood(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	idle := openFDs(t)
	p := h.connect("fd-pty", testpeer.Options{})
	master, slave := openPTY(t)
	cmd := startOnPTY(t, slave, "yes", "flood")
	h.mustHandoff(handoff.Header{SessionID: "fd-pty", Kind: handoff.KindPTY}, master)

	var received atomic.Int64
	exitCode := make(chan float64, 1)
	readerDone := make(chan struct{})
	go func() { // the peer keeps reading the flood
		defer close(readerDone)
		for {
			select {
			case m := <-p.Messages:
				pj := decodeQuiet(m)
				switch pj.Type {
				case "output":
					received.Add(int64(len(pj.Data)))
				case "exit":
					exitCode <- pj.Code.(float64)
					return
				}
			case <-time.After(wait):
				return
			}
		}
	}()
	deadline := time.Now().Add(wait)
	for received.Load() < 1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("flood did not arrive (%d bytes)", received.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.SendText(`{"type":"input","data":"\u0003"}`)

	e := h.waitEvent("fd-pty", "terminal_ended", isEnded)
	if e.GetTerminalEnded().GetReason() != "eof" {
		t.Fatalf("ended %v", e.GetTerminalEnded())
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 { // killed by a signal
		t.Fatalf("yes ended with %v, want killed by SIGINT", err)
	}
	h.endTerminal("fd-pty", 130)
	select {
	case code := <-exitCode:
		if code != 130 {
			t.Fatalf("exit code %v", code)
		}
	case <-time.After(wait):
		t.Fatal("no exit message after the flood")
	}
	<-readerDone
	h.closeSession("fd-pty", "exit")
	p.Close()
	waitFDs(t, idle)
}

func TestHandoffRecording(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.connect("fd-rec", testpeer.Options{})
	ours, theirs := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "fd-rec", Kind: handoff.KindSocket, Preread: []byte("pre "), Record: true, RecordInput: true}, theirs)
	rec, err := h.client.WatchRecording(ctxT(t), &rpcv1.WatchRecordingRequest{SessionId: "fd-rec"})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch (the preread) proves the stream holds the recording;
	// a second reader is then refused.
	first, err := rec.Recv()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := h.client.WatchRecording(ctxT(t), &rpcv1.WatchRecordingRequest{SessionId: "fd-rec"})
	if _, err := second.Recv(); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second recording reader: %v", err)
	}

	if _, err := ours.Write([]byte("out1")); err != nil {
		t.Fatal(err)
	}
	jsonOutput(t, p, len("pre out1"))
	p.SendText(`{"type":"input","data":"in1"}`)
	readUntil(t, ours, "in1")
	if _, err := ours.Write([]byte("out2")); err != nil {
		t.Fatal(err)
	}
	jsonOutput(t, p, len("out2"))
	ours.Close()
	h.waitEvent("fd-rec", "terminal_ended", isEnded)
	h.endTerminal("fd-rec", 0)
	h.closeSession("fd-rec", "exit")

	// The stream holds every byte in order and ends once the session closed.
	var out, in bytes.Buffer
	var order []bool
	for b := first; ; {
		for _, c := range b.GetChunks() {
			if c.GetDroppedBytes() != 0 || c.GetTimeUnixMicros() == 0 {
				t.Fatalf("chunk %v", c)
			}
			if c.GetInput() {
				in.Write(c.GetData())
			} else {
				out.Write(c.GetData())
			}
			if len(order) == 0 || order[len(order)-1] != c.GetInput() {
				order = append(order, c.GetInput())
			}
		}
		if b, err = rec.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("recording stream: %v", err)
		}
	}
	if out.String() != "pre out1out2" || in.String() != "in1" || len(order) != 3 || !order[1] {
		t.Fatalf("recorded output %q, input %q, order %v", out.String(), in.String(), order)
	}

	// Without "record" there is nothing to watch.
	h.connect("fd-norec", testpeer.Options{})
	_, theirs2 := streamPair(t)
	h.mustHandoff(handoff.Header{SessionID: "fd-norec", Kind: handoff.KindSocket}, theirs2)
	s, _ := h.client.WatchRecording(ctxT(t), &rpcv1.WatchRecordingRequest{SessionId: "fd-norec"})
	if _, err := s.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("recording without record: %v", err)
	}
}

// decodeQuiet decodes a text message; a malformed one has an empty type.
func decodeQuiet(m testpeer.Message) peerJSON {
	var pj peerJSON
	if m.IsText {
		_ = jsonUnmarshal(m.Data, &pj)
	}
	return pj
}
