package rpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/terminal"
)

// Terminal bridges one session's `terminal` data channel to the agent.
//
// The handler's goroutine sends peer frames to the agent; a second
// goroutine reads the agent's frames and writes them to the channel. That
// reader blocks inside bridge.Output while the channel is above its
// high-water mark, so it stops calling Recv and gRPC flow control pushes
// back on the agent, while input keeps flowing the other way.
//
// The stream ends after a Close frame when the session closes (for any
// reason: the Close carries it), when the agent half-closes (once what it
// sent has left the data channel, bounded by terminal.DrainTimeout), or with
// an error status when the agent breaks the protocol.
func (s *Server) Terminal(stream rpcv1.Sidecar_TerminalServer) error {
	ctx := stream.Context()
	sess, err := attachedSession(s, stream.Recv)
	if err != nil {
		return err
	}
	b, err := sess.AttachTerminal(ctx)
	if err != nil {
		return toStatus(err)
	}
	defer b.Detach()
	log := s.log.With("session", sess.ID())
	if err := stream.Send(&rpcv1.TerminalFromPeer{Frame: &rpcv1.TerminalFromPeer_Attached{
		Attached: &rpcv1.Attached{Binary: b.Binary()},
	}}); err != nil {
		return err
	}
	log.Debug("terminal attached", "binary", b.Binary())

	recvDone := make(chan error, 1)
	go func() { recvDone <- s.pumpFromAgent(ctx, stream, b) }()

	for {
		select {
		case m := <-b.Frames():
			if err := sendPeerFrame(stream, m, log); err != nil {
				return err
			}
		case <-b.Done():
			return sendClose(stream, b, log)
		case err := <-recvDone:
			if err != nil {
				log.Info("terminal stream ended", "err", err)
			}
			return toStatus(err)
		case <-ctx.Done():
			return toStatus(ctx.Err())
		}
	}
}

// sendClose delivers the frames still queued, then the final Close.
func sendClose(stream rpcv1.Sidecar_TerminalServer, b *terminal.Bridge, log *slog.Logger) error {
	for {
		select {
		case m := <-b.Frames():
			if err := sendPeerFrame(stream, m, log); err != nil {
				return err
			}
		default:
			return stream.Send(&rpcv1.TerminalFromPeer{Frame: &rpcv1.TerminalFromPeer_Close{
				Close: &rpcv1.Close{Reason: b.Reason()},
			}})
		}
	}
}

// sendPeerFrame sends one peer frame to the agent. A frame that cannot be
// converted is logged and ends the stream with codes.Internal instead of
// reaching the shell as something it is not.
func sendPeerFrame(stream rpcv1.Sidecar_TerminalServer, m terminal.PeerMessage, log *slog.Logger) error {
	f, err := peerFrameToProto(m)
	if err != nil {
		log.Error("terminal stream ended: frame not forwarded", "err", err)
		return toStatus(err)
	}
	return stream.Send(f)
}

// pumpFromAgent copies the agent's frames to the peer until the agent
// half-closes (nil, once the channel drained), the bridge closes (nil), or
// an error.
func (s *Server) pumpFromAgent(ctx context.Context, stream rpcv1.Sidecar_TerminalServer, b *terminal.Bridge) error {
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			b.Drain(ctx)
			return nil
		}
		if err != nil {
			return err
		}
		switch fr := f.GetFrame().(type) {
		case *rpcv1.TerminalFromAgent_Output:
			err = b.Output(ctx, fr.Output)
		case *rpcv1.TerminalFromAgent_Exit:
			err = b.Exit(ctx, fr.Exit.GetCode())
		case *rpcv1.TerminalFromAgent_Error:
			err = b.Error(ctx, fr.Error.GetCode(), fr.Error.GetMessage())
		case *rpcv1.TerminalFromAgent_Attach:
			return status.Error(codes.FailedPrecondition, "already attached")
		default:
			return status.Error(codes.InvalidArgument, "empty frame")
		}
		switch {
		case errors.Is(err, terminal.ErrClosed):
			// The session is closing: the handler sends Close and
			// returns, which ends ctx.
			<-ctx.Done()
			return nil
		case err != nil:
			return err
		}
	}
}
