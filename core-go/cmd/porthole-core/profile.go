package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a path prefix: when set, porthole-core writes a CPU
// profile of its whole run to PREFIX.<pid> (go tool pprof reads it), for
// measuring the pump (docs/benchmarks.md). Unset, nothing is profiled.
const cpuProfileEnv = "PORTHOLE_CORE_CPUPROFILE"

// startCPUProfile starts the profile when getenv names one; the returned
// stop ends it and closes the file (call it once, at shutdown).
func startCPUProfile(getenv func(string) string, log *slog.Logger) (stop func()) {
	prefix := getenv(cpuProfileEnv)
	if prefix == "" {
		return func() {}
	}
	path := fmt.Sprintf("%s.%d", prefix, os.Getpid())
	f, err := os.Create(path)
	if err != nil {
		log.Warn("cpu profile not started", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Warn("cpu profile not started", "err", err)
		closeQuietly(f)
		return func() {}
	}
	log.Info("cpu profile started", "path", path)
	return func() {
		pprof.StopCPUProfile()
		closeQuietly(f)
	}
}

func closeQuietly(c io.Closer) { _ = c.Close() }
