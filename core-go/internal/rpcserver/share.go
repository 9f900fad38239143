package rpcserver

import (
	"context"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// WatchTerminal makes a session a viewer of another's shared terminal.
func (s *Server) WatchTerminal(_ context.Context, req *rpcv1.WatchTerminalRequest) (*rpcv1.WatchTerminalResponse, error) {
	for _, id := range []string{req.GetSessionId(), req.GetViewerSessionId()} {
		if err := rtc.ValidateSessionID(id); err != nil {
			return nil, toStatus(err)
		}
	}
	if err := s.mgr.WatchTerminal(req.GetSessionId(), req.GetViewerSessionId()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.WatchTerminalResponse{}, nil
}

// SetTerminalControl hands control of a shared terminal to a viewer or back.
func (s *Server) SetTerminalControl(_ context.Context, req *rpcv1.SetTerminalControlRequest) (*rpcv1.SetTerminalControlResponse, error) {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	if c := req.GetControllerSessionId(); c != "" {
		if err := rtc.ValidateSessionID(c); err != nil {
			return nil, toStatus(err)
		}
	}
	if err := s.mgr.SetTerminalControl(req.GetSessionId(), req.GetControllerSessionId()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.SetTerminalControlResponse{}, nil
}

// SetScreenInput hands a shared screen's input to a session or takes it away.
func (s *Server) SetScreenInput(_ context.Context, req *rpcv1.SetScreenInputRequest) (*rpcv1.SetScreenInputResponse, error) {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	if err := s.mgr.SetScreenInput(req.GetSessionId(), req.GetHeld()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.SetScreenInputResponse{}, nil
}
