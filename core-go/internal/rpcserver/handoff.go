package rpcserver

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// EndTerminal sends the exit of a handed-over terminal after its output.
func (s *Server) EndTerminal(ctx context.Context, req *rpcv1.EndTerminalRequest) (*rpcv1.EndTerminalResponse, error) {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	e := req.GetError()
	if e != nil && e.GetCode() == "" {
		return nil, status.Error(codes.InvalidArgument, "error needs a code")
	}
	if req.GetNoExit() && e == nil {
		return nil, status.Error(codes.InvalidArgument, "no_exit needs an error")
	}
	if err := s.mgr.EndTerminal(ctx, req.GetSessionId(), req.GetExitCode(), e.GetCode(), e.GetMessage(), req.GetNoExit()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.EndTerminalResponse{}, nil
}

// WatchRecording drains the recording backlog of a handed-over terminal
// until the session closed and everything was sent.
func (s *Server) WatchRecording(req *rpcv1.WatchRecordingRequest, stream rpcv1.Sidecar_WatchRecordingServer) error {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return toStatus(err)
	}
	rec, err := s.mgr.Recording(req.GetSessionId())
	if err != nil {
		return toStatus(err)
	}
	ctx := stream.Context()
	for {
		chunks, ok, err := rec.Next(ctx)
		if err != nil {
			return toStatus(err)
		}
		if !ok {
			return nil
		}
		batch := &rpcv1.RecordingBatch{Chunks: make([]*rpcv1.RecordingChunk, 0, len(chunks))}
		for _, c := range chunks {
			batch.Chunks = append(batch.Chunks, &rpcv1.RecordingChunk{
				TimeUnixMicros: c.Time.UnixMicro(),
				Input:          c.Input,
				Data:           c.Data,
				DroppedBytes:   c.Dropped,
			})
		}
		if err := stream.Send(batch); err != nil {
			return err
		}
	}
}
