package rpcserver

import (
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// attachFrame is the first frame of an agent's channel stream (Terminal,
// Files): it must carry attach.
type attachFrame interface {
	GetAttach() *rpcv1.Attach
}

// attachedSession reads a channel stream's first frame and returns the
// session its attach names; an error status when it is not attach or the
// session is unknown.
func attachedSession[F attachFrame](s *Server, recv func() (F, error)) (*rtc.Session, error) {
	first, err := recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, status.Error(codes.InvalidArgument, "the first frame must be attach")
		}
		return nil, err
	}
	att := first.GetAttach()
	if att == nil {
		return nil, status.Error(codes.InvalidArgument, "the first frame must be attach")
	}
	sess, err := s.mgr.Session(att.GetSessionId())
	if err != nil {
		return nil, toStatus(err)
	}
	return sess, nil
}
