// Package rpcserver is the gRPC edge of porthole-core: the
// porthole.rpc.v1.Sidecar service over the rtc Manager, plus the standard
// health and reflection services. Errors become gRPC statuses here and
// nowhere else.
package rpcserver

import (
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/rtc"
)

// Flow-control and size limits of the gRPC server.
const (
	// streamWindow is the fixed per-stream receive window. A fixed window
	// (instead of grpc-go's BDP-driven one, which grows to 16 MiB) bounds
	// what an agent can push into a Terminal stream that we stopped
	// reading because the peer is slow: backpressure reaches the agent
	// after at most this much.
	streamWindow = 1 << 20

	// connWindow is the connection-level window: a few streams' worth.
	connWindow = 4 << 20

	// maxRecvMsg bounds one request: an offer is at most 64 KiB and an
	// output frame 64 KiB, so 256 KiB leaves room for framing and fields.
	maxRecvMsg = 256 << 10
)

// Server implements rpcv1.SidecarServer.
type Server struct {
	rpcv1.UnimplementedSidecarServer
	mgr *rtc.Manager
	log *slog.Logger
}

// New returns the service over mgr.
func New(mgr *rtc.Manager, log *slog.Logger) *Server {
	return &Server{mgr: mgr, log: log}
}

// NewGRPCServer returns a gRPC server with the Sidecar service, health
// ("" and the service SERVING) and reflection registered. The returned
// health server is for marking NOT_SERVING at shutdown.
func NewGRPCServer(srv *Server) (*grpc.Server, *health.Server) {
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recoverUnary(srv.log)),
		grpc.ChainStreamInterceptor(recoverStream(srv.log)),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.MaxRecvMsgSize(maxRecvMsg),
	)
	rpcv1.RegisterSidecarServer(gs, srv)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(rpcv1.Sidecar_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return gs, hs
}
