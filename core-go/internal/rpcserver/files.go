package rpcserver

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/files"
)

// Files relays one session's `files` data channel to the agent (file
// transfer; sidecar.proto). The handler's goroutine sends the peer's
// messages; a second one reads the agent's and sends them on the channel,
// blocking in Relay.Send while the channel is above its high-water mark, so
// gRPC flow control pushes back on the agent.
func (s *Server) Files(stream rpcv1.Sidecar_FilesServer) error {
	ctx := stream.Context()
	sess, err := attachedSession(s, stream.Recv)
	if err != nil {
		return err
	}
	r, err := sess.AttachFiles(ctx)
	if err != nil {
		return toStatus(err)
	}
	defer r.Detach()
	if err := stream.Send(&rpcv1.FilesFromPeer{Frame: &rpcv1.FilesFromPeer_Attached{Attached: &rpcv1.Attached{}}}); err != nil {
		return err
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- filesFromAgent(ctx, stream, r) }()
	for {
		select {
		case m := <-r.Incoming():
			if err := stream.Send(&rpcv1.FilesFromPeer{Frame: &rpcv1.FilesFromPeer_Message{
				Message: &rpcv1.FilesMessage{Data: m.Data, Text: m.Text},
			}}); err != nil {
				return err
			}
		case <-r.Done():
			return sendFilesClose(stream, "channel_closed")
		case <-sess.Closing():
			return sendFilesClose(stream, "session_closed")
		case err := <-recvDone:
			return toStatus(err)
		case <-ctx.Done():
			return toStatus(ctx.Err())
		}
	}
}

func sendFilesClose(stream rpcv1.Sidecar_FilesServer, reason string) error {
	return stream.Send(&rpcv1.FilesFromPeer{Frame: &rpcv1.FilesFromPeer_Close{Close: &rpcv1.Close{Reason: reason}}})
}

// filesFromAgent sends the agent's messages to the peer until the agent
// half-closes (nil) or breaks the protocol.
func filesFromAgent(ctx context.Context, stream rpcv1.Sidecar_FilesServer, r *files.Relay) error {
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		m := f.GetMessage()
		if m == nil {
			return status.Error(codes.InvalidArgument, "after attach only message frames")
		}
		if err := r.Send(ctx, files.Message{Data: m.GetData(), Text: m.GetText()}); err != nil {
			if errors.Is(err, files.ErrTooLarge) {
				return status.Error(codes.InvalidArgument, err.Error())
			}
			return err
		}
	}
}
