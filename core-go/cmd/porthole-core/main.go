// Command porthole-core is the WebRTC sidecar of the porthole agent. See
// `porthole-core --help` and proto/porthole/rpc/v1/sidecar.proto.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"porthole/core-go/internal/config"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/memory"
	"porthole/core-go/internal/rpcserver"
	"porthole/core-go/internal/rtc"
)

// Shutdown deadlines.
const (
	// sessionsShutdownTimeout bounds closing every session, flushes included
	// (each flush is itself bounded by rtc.FlushTimeout).
	sessionsShutdownTimeout = 5 * time.Second
	// grpcStopTimeout bounds the graceful gRPC stop; streams still open
	// after it are cut.
	grpcStopTimeout = 3 * time.Second
)

func main() {
	// Nothing reads a heap profile here; its sampled call stacks would hold
	// memory (about 1.5 MiB after a burst of sessions) for good.
	runtime.MemProfileRate = 0
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

func run(args []string, stdin io.Reader, stderr io.Writer) int {
	cfg, err := config.Parse(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "porthole-core: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	stopProfile := startCPUProfile(os.Getenv, log)
	defer stopProfile()

	mgr, err := rtc.New(cfg.RTC, log)
	if err != nil {
		log.Error("webrtc setup failed", "err", err)
		return 1
	}
	// While the live heap is small, collect less often (memory.GCFloor).
	gcFloor := memory.StartGCFloor()
	defer gcFloor.Stop()
	// Once the last session has closed, the heap it used goes back to the OS.
	releaser := memory.NewReleaser(memory.IdleDelay, func() bool { return mgr.Len() == 0 }, log)
	defer releaser.Stop()
	mgr.OnIdle(releaser.Idle)
	lis, err := listenUnix(cfg.Listen)
	if err != nil {
		log.Error("listen failed", "err", err)
		_ = mgr.Shutdown(context.Background())
		return 1
	}
	sockets := []createdSocket{created(cfg.Listen)}
	fdLis, err := listenUnixPacket(cfg.FDListen)
	if err != nil {
		log.Error("listen failed", "err", err)
		lis.Close()
		_ = sockets[0].removeIfSame()
		_ = mgr.Shutdown(context.Background())
		return 1
	}
	sockets = append(sockets, created(cfg.FDListen))
	gs, health := rpcserver.NewGRPCServer(rpcserver.New(mgr, log))
	// The agent launched us: only it (our parent, as our uid) may hand
	// descriptors over.
	hs := handoff.New(mgr, handoff.Policy{UID: os.Getuid(), PIDs: []int{os.Getppid()}}, log)

	serveErr := make(chan error, 2)
	// gRPC: only this user's processes (the agent; grpcurl when debugging as the same user).
	go func() { serveErr <- gs.Serve(handoff.Policy{UID: os.Getuid()}.Guard(lis, log)) }()
	go func() { serveErr <- hs.Serve(fdLis) }()
	log.Info("porthole-core serving", "listen", cfg.Listen, "fd_listen", cfg.FDListen, "rtc", cfg.RTC)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	stdinClosed := make(chan struct{})
	go func() {
		// The agent holds the other end of our stdin: EOF means it is gone.
		_, _ = io.Copy(io.Discard, stdin)
		close(stdinClosed)
	}()

	code := 0
	select {
	case sig := <-signals:
		log.Info("shutting down", "signal", sig.String())
	case <-stdinClosed:
		log.Info("shutting down", "cause", "stdin closed")
	case err := <-serveErr:
		log.Error("server failed", "err", err)
		code = 1
	}

	// Reverse order of construction: stop taking work, close the sessions
	// (their closed events reach the watchers; their descriptors are
	// closed), then stop gRPC.
	hs.Close()
	health.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), sessionsShutdownTimeout)
	if err := mgr.Shutdown(ctx); err != nil {
		log.Warn("webrtc shutdown", "err", err)
	}
	cancel()
	stopGRPC(gs, grpcStopTimeout)
	for _, s := range sockets {
		if err := s.removeIfSame(); err != nil {
			log.Warn("remove socket", "err", err)
		}
	}
	log.Info("porthole-core stopped")
	return code
}

// grpcStopper is the part of *grpc.Server used to stop it.
type grpcStopper interface {
	GracefulStop()
	Stop()
}

// stopGRPC stops gracefully, or forcibly after timeout.
func stopGRPC(gs grpcStopper, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		gs.Stop()
		<-done
	}
}
