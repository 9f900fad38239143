package rpcserver

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/files"
	"porthole/core-go/internal/testpeer"
)

type filesAgent struct {
	t      *testing.T
	stream grpc.BidiStreamingClient[rpcv1.FilesFromAgent, rpcv1.FilesFromPeer]
	frames chan *rpcv1.FilesFromPeer
	err    error
}

func (h *harness) openFiles(id string) *filesAgent {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	stream, err := h.client.Files(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	a := &filesAgent{t: h.t, stream: stream, frames: make(chan *rpcv1.FilesFromPeer, 1024)}
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				a.err = err
				close(a.frames)
				return
			}
			a.frames <- f
		}
	}()
	if err := stream.Send(&rpcv1.FilesFromAgent{Frame: &rpcv1.FilesFromAgent_Attach{Attach: &rpcv1.Attach{SessionId: id}}}); err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (a *filesAgent) next() *rpcv1.FilesFromPeer {
	a.t.Helper()
	select {
	case f, ok := <-a.frames:
		if !ok {
			a.t.Fatalf("files stream ended: %v", a.err)
		}
		return f
	case <-time.After(wait):
		a.t.Fatal("no frame on the files stream")
		return nil
	}
}

func (a *filesAgent) send(data []byte, text bool) {
	a.t.Helper()
	if err := a.stream.Send(&rpcv1.FilesFromAgent{Frame: &rpcv1.FilesFromAgent_Message{
		Message: &rpcv1.FilesMessage{Data: data, Text: text},
	}}); err != nil {
		a.t.Fatal(err)
	}
}

func (h *harness) filesSession(id string) *testpeer.Peer {
	h.t.Helper()
	p := h.connect(id, testpeer.Options{Label: files.Label})
	h.waitEvent(id, "channel_opened files", func(e *rpcv1.SessionEvent) bool {
		return e.GetChannelOpened().GetLabel() == files.Label
	})
	return p
}

// The relay both ways, in order, text and binary kept apart, over real pion; a second
// stream for the same channel is refused; the session's close ends the stream.
func TestFilesRelayBothWays(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.filesSession("files-1")
	a := h.openFiles("files-1")
	if a.next().GetAttached() == nil {
		t.Fatal("want attached first")
	}

	p.SendText(`{"type":"upload","id":"u1"}`)
	chunk := bytes.Repeat([]byte{7}, files.MaxMessage)
	p.Send(chunk)
	if m := a.next().GetMessage(); !m.GetText() || string(m.GetData()) != `{"type":"upload","id":"u1"}` {
		t.Fatalf("first message %v", m)
	}
	if m := a.next().GetMessage(); m.GetText() || !bytes.Equal(m.GetData(), chunk) {
		t.Fatalf("second message text=%v len=%d", m.GetText(), len(m.GetData()))
	}

	// 2 MiB (over the high-water mark) towards a peer that reads nothing for a while: all of
	// it arrives, in order.
	p.Block()
	const n = 32
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			a.send(bytes.Repeat([]byte{byte(i)}, files.MaxMessage), false)
		}
		a.send([]byte(`{"type":"done"}`), true)
	}()
	p.Unblock()
	for i := range n {
		m := p.Next()
		if m.IsText || len(m.Data) != files.MaxMessage || m.Data[0] != byte(i) {
			t.Fatalf("message %d: text=%v len=%d first=%d", i, m.IsText, len(m.Data), m.Data[0])
		}
	}
	if m := p.Next(); !m.IsText || string(m.Data) != `{"type":"done"}` {
		t.Fatalf("last message %q", m.Data)
	}
	<-sent

	b := h.openFiles("files-1")
	<-b.frames
	if status.Code(b.err) != codes.AlreadyExists {
		t.Fatalf("second stream: %v, want AlreadyExists", b.err)
	}

	if _, err := h.client.CloseSession(ctxT(t), &rpcv1.CloseSessionRequest{SessionId: "files-1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if c := a.next().GetClose(); c == nil {
		t.Fatal("want close after the session closed")
	}
}

// A peer that sends past its window while nobody drains the queue gets files_overflow and
// its channel closed; a message over 64 KiB is refused on its own.
func TestFilesOverflowClosesTheChannel(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	p := h.filesSession("files-2")
	p.Send(make([]byte, files.MaxMessage+1))
	if m := p.Next(); !m.IsText || !strings.Contains(string(m.Data), files.CodeTooLarge) {
		t.Fatalf("want message_too_large, got %q", m.Data)
	}
	for i := range files.Queue + 1 {
		p.SendText(fmt.Sprintf(`{"n":%d}`, i))
	}
	if m := p.Next(); !m.IsText || !strings.Contains(string(m.Data), files.CodeOverflow) {
		t.Fatalf("want files_overflow, got %q", m.Data)
	}
	select {
	case <-p.Closed:
	case <-time.After(wait):
		t.Fatal("the channel stayed open after the overflow")
	}
}

// Files on a session without a files channel: FailedPrecondition.
func TestFilesWithoutChannel(t *testing.T) {
	h := newHarness(t, loopbackRTC())
	h.connect("files-3", testpeer.Options{})
	a := h.openFiles("files-3")
	<-a.frames
	if status.Code(a.err) != codes.FailedPrecondition {
		t.Fatalf("got %v, want FailedPrecondition", a.err)
	}
}
