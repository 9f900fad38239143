package rpcserver

import (
	"context"
	"errors"
	"runtime"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/config"
	"porthole/core-go/internal/rtc"
)

// CreateSession answers the peer's offer at once (trickle ICE).
func (s *Server) CreateSession(_ context.Context, req *rpcv1.CreateSessionRequest) (*rpcv1.CreateSessionResponse, error) {
	servers := make([]config.ICEServer, 0, len(req.GetIceServers()))
	for _, is := range req.GetIceServers() {
		servers = append(servers, config.ICEServer{URLs: is.GetUrls(), Username: is.GetUsername(), Credential: is.GetCredential()})
	}
	answer, err := s.mgr.CreateSession(rtc.CreateRequest{
		SessionID:  req.GetSessionId(),
		OfferSDP:   req.GetOfferSdp(),
		Kind:       req.GetKind(),
		ICEServers: servers,
		Screen:     screenOptions(req.GetScreen()),
		RelayOnly:  req.GetRelayOnly(),
	})
	if err != nil {
		s.log.Info("create session refused", "session", safeID(req.GetSessionId()), "err", err)
		return nil, toStatus(err)
	}
	return &rpcv1.CreateSessionResponse{AnswerSdp: answer}, nil
}

// AddRemoteCandidate applies or queues one remote candidate.
func (s *Server) AddRemoteCandidate(_ context.Context, req *rpcv1.AddRemoteCandidateRequest) (*rpcv1.AddRemoteCandidateResponse, error) {
	c := req.GetCandidate()
	if c == nil {
		return nil, status.Error(codes.InvalidArgument, "candidate is required")
	}
	queued, err := s.mgr.AddRemoteCandidate(req.GetSessionId(), rtc.Candidate{
		Candidate:     c.GetCandidate(),
		SDPMid:        c.GetSdpMid(),
		SDPMLineIndex: c.GetSdpMlineIndex(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.AddRemoteCandidateResponse{Queued: queued}, nil
}

// CloseSession flushes and closes a session.
func (s *Server) CloseSession(ctx context.Context, req *rpcv1.CloseSessionRequest) (*rpcv1.CloseSessionResponse, error) {
	if err := rtc.ValidateSessionID(req.GetSessionId()); err != nil {
		return nil, toStatus(err)
	}
	if err := s.mgr.CloseSession(ctx, req.GetSessionId(), req.GetReason()); err != nil {
		return nil, toStatus(err)
	}
	return &rpcv1.CloseSessionResponse{}, nil
}

// GetStats reports one session, or all.
func (s *Server) GetStats(_ context.Context, req *rpcv1.GetStatsRequest) (*rpcv1.GetStatsResponse, error) {
	stats, err := s.mgr.Stats(req.GetSessionId())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &rpcv1.GetStatsResponse{
		Sessions:   make([]*rpcv1.SessionStats, 0, len(stats)),
		Goroutines: uint32(runtime.NumGoroutine()),
	}
	for _, st := range stats {
		resp.Sessions = append(resp.Sessions, sessionStatsToProto(st))
	}
	return resp, nil
}

// WatchEvents streams every session event until the sidecar shuts down or
// the watcher falls more than rtc.EventBuffer events behind.
func (s *Server) WatchEvents(_ *rpcv1.WatchEventsRequest, stream rpcv1.Sidecar_WatchEventsServer) error {
	w, err := s.mgr.Watch()
	if err != nil {
		return toStatus(err)
	}
	defer w.Close()
	// Send headers now: the watcher is registered, so a client that waits for
	// them (the agent does, before it creates sessions) misses no event.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	ctx := stream.Context()
	for {
		// A cut-off watcher learns it at once, not after the backlog.
		select {
		case <-w.Overflow():
			s.log.Warn("event watcher cut off", "buffer", rtc.EventBuffer)
			return toStatus(rtc.ErrWatcherTooSlow)
		default:
		}
		select {
		case e, ok := <-w.Events():
			if !ok {
				return nil // shutting down; every closed event was sent
			}
			if err := stream.Send(eventToProto(e)); err != nil {
				return err
			}
		case <-w.Overflow():
			s.log.Warn("event watcher cut off", "buffer", rtc.EventBuffer)
			return toStatus(rtc.ErrWatcherTooSlow)
		case <-ctx.Done():
			return toStatus(ctx.Err())
		}
	}
}

// safeID returns id for logs when it is a valid id, else a placeholder.
func safeID(id string) string {
	if errors.Is(rtc.ValidateSessionID(id), rtc.ErrInvalidSessionID) {
		return "(invalid)"
	}
	return id
}

// TestTurn tries a TURN allocation on a throwaway peer connection.
func (s *Server) TestTurn(ctx context.Context, req *rpcv1.TestTurnRequest) (*rpcv1.TestTurnResponse, error) {
	servers := make([]config.ICEServer, 0, len(req.GetIceServers()))
	for _, is := range req.GetIceServers() {
		servers = append(servers, config.ICEServer{URLs: is.GetUrls(), Username: is.GetUsername(), Credential: is.GetCredential()})
	}
	res, err := s.mgr.TestTURN(ctx, servers, time.Duration(req.GetTimeoutMs())*time.Millisecond)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &rpcv1.TestTurnResponse{Error: res.Error, TimedOut: res.TimedOut, ElapsedMs: float64(res.Elapsed.Microseconds()) / 1000}
	for _, c := range res.Relays {
		resp.RelayCandidates = append(resp.RelayCandidates, candidateInfoToProto(c))
	}
	return resp, nil
}
