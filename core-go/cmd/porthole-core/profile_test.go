package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestCPUProfileWrittenWhenAsked(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "core")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	stop := startCPUProfile(func(k string) string {
		if k == cpuProfileEnv {
			return prefix
		}
		return ""
	}, log)
	stop()
	st, err := os.Stat(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
	if err != nil {
		t.Fatalf("profile not written: %v", err)
	}
	if st.Size() == 0 {
		t.Fatal("profile is empty")
	}
}
