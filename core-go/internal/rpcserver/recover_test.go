package rpcserver

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
)

// A handler that panics ends that call with INTERNAL, not the process:
// a server over no manager panics in every Sidecar handler, unary and
// stream, and keeps serving.
func TestHandlerPanicIsRecovered(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "core.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := NewGRPCServer(New(nil, testLogger()))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	defer func() {
		gs.Stop()
		<-served
	}()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := rpcv1.NewSidecarClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	for range 2 { // the second call proves the first did not kill anything
		if _, err := client.GetStats(ctx, &rpcv1.GetStatsRequest{}); status.Code(err) != codes.Internal {
			t.Fatalf("unary panic: %v, want INTERNAL", err)
		}
		ws, err := client.WatchEvents(ctx, &rpcv1.WatchEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ws.Recv(); status.Code(err) != codes.Internal {
			t.Fatalf("stream panic: %v, want INTERNAL", err)
		}
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health after panics: %v, %v", resp, err)
	}
}
