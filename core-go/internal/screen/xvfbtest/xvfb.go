// Package xvfbtest starts a real Xvfb for tests (TESTING.md: X11) and
// draws on it with xsetroot.
package xvfbtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTimeout bounds Xvfb's start: it is ready in well under a second.
const StartTimeout = 10 * time.Second

// Start runs `Xvfb -screen 0 WxHx24 -nolisten tcp` on a free display
// number (Xvfb picks it: -displayfd) and returns the display name. The
// server is stopped when the test ends.
func Start(t testing.TB, width, height int) string {
	t.Helper()
	d, _ := StartKillable(t, width, height)
	return d
}

// StartKillable is Start that also returns a func killing the server now
// (a display that goes away under a session).
func StartKillable(t testing.TB, width, height int) (string, func()) {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatalf("Xvfb not installed (scripts/setup.sh installs it): %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if n == "" {
			t.Fatal("Xvfb exited before reporting its display")
		}
		return ":" + n, kill
	case <-time.After(StartTimeout):
		t.Fatal("Xvfb did not start")
		return "", kill
	}
}

// Fill paints the whole root window one colour ("#rrggbb").
func Fill(t testing.TB, display, colour string) {
	t.Helper()
	cmd := exec.Command("xsetroot", "-solid", colour)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xsetroot: %v: %s", err, out)
	}
}

// Spawn starts an X client on display (content that keeps changing, say)
// and returns a func stopping it; the test's end stops it too.
func Spawn(t testing.TB, display string, argv ...string) func() {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", argv[0], err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}
