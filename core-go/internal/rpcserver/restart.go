package rpcserver

import (
	"context"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// RestartIce answers the peer's ICE restart offer on the session's
// existing peer connection (same channels, same shell).
func (s *Server) RestartIce(_ context.Context, req *rpcv1.RestartIceRequest) (*rpcv1.RestartIceResponse, error) {
	if len(req.GetOfferSdp()) > rtc.MaxOfferSize {
		return nil, toStatus(rtc.ErrOfferTooLarge)
	}
	answer, err := s.mgr.RestartICE(req.GetSessionId(), req.GetOfferSdp())
	if err != nil {
		s.log.Info("ICE restart refused", "session", safeID(req.GetSessionId()), "err", err)
		return nil, toStatus(err)
	}
	return &rpcv1.RestartIceResponse{AnswerSdp: answer}, nil
}
