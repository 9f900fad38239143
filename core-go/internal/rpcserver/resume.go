package rpcserver

import (
	"context"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// AttachTerminal moves a detached terminal to a new session (resume).
func (s *Server) AttachTerminal(_ context.Context, req *rpcv1.AttachTerminalRequest) (*rpcv1.AttachTerminalResponse, error) {
	for _, id := range []string{req.GetFromSessionId(), req.GetToSessionId()} {
		if err := rtc.ValidateSessionID(id); err != nil {
			return nil, toStatus(err)
		}
	}
	if err := s.mgr.AttachTerminal(req.GetFromSessionId(), req.GetToSessionId()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.AttachTerminalResponse{}, nil
}

// DropTerminal releases a detached terminal (the agent's grace ran out).
func (s *Server) DropTerminal(_ context.Context, req *rpcv1.DropTerminalRequest) (*rpcv1.DropTerminalResponse, error) {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	if err := s.mgr.DropTerminal(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.DropTerminalResponse{}, nil
}
