package rpcserver

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	rpcv1 "porthole/core-go/gen/porthole/rpc/v1"
	"porthole/core-go/internal/handoff"
	"porthole/core-go/internal/testpeer"
)

// handoff hands fd over as the agent does (one message on the side
// socket) and returns the reply. The test still owns fd.
func (h *harness) handoff(hdr handoff.Header, fd int) handoff.Reply {
	h.t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: h.fdSock, Net: "unixpacket"})
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	hdr.Version = handoff.Version
	b, err := json.Marshal(hdr)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := c.WriteMsgUnix(b, syscall.UnixRights(fd), nil); err != nil {
		h.t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		h.t.Fatalf("no handoff reply: %v", err)
	}
	var r handoff.Reply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// mustHandoff hands fd over and closes the test's copy, as the agent
// keeps only its own duplicate.
func (h *harness) mustHandoff(hdr handoff.Header, fd int) {
	h.t.Helper()
	if r := h.handoff(hdr, fd); !r.OK {
		h.t.Fatalf("handoff refused: %+v", r)
	}
	unix.Close(fd)
}

// streamPair is a socketpair standing in for Docker's hijacked stream:
// ours is the process side (pollable), theirs goes to the sidecar.
func streamPair(t *testing.T) (ours *os.File, theirs int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	ours = os.NewFile(uintptr(fds[0]), "process-side")
	t.Cleanup(func() { ours.Close() })
	return ours, fds[1]
}

// openPTY opens a PTY pair through /dev/ptmx: the master for the sidecar
// and the slave for a process.
func openPTY(t *testing.T) (master int, slave *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	// TIOCGPTPEER opens the slave from the master, whatever /dev/pts is.
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		t.Fatal(errno)
	}
	return m, os.NewFile(s, "pty-slave")
}

// startOnPTY runs argv with the slave as its controlling terminal and
// closes the test's copy of the slave.
func startOnPTY(t *testing.T, slave *os.File, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return cmd
}

// readUntil reads f until what it read contains want.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	_ = f.SetReadDeadline(time.Now().Add(wait))
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), want) {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read %q, want %q: %v", got, want, err)
		}
	}
	return string(got)
}

// jsonOutput reads JSON output messages until their text is n bytes long,
// checking that each is whole UTF-8.
func jsonOutput(t *testing.T, p *testpeer.Peer, n int) string {
	t.Helper()
	var got strings.Builder
	for got.Len() < n {
		m := decode(t, p.Next())
		if m.Type != "output" || !utf8.ValidString(m.Data) || strings.ContainsRune(m.Data, utf8.RuneError) {
			t.Fatalf("bad output message %+v", m)
		}
		got.WriteString(m.Data)
	}
	return got.String()
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // ReadDir's own descriptor
}

// waitFDs waits until the open descriptors are back to at most baseline.
func waitFDs(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for openFDs(t) > baseline {
		if time.Now().After(deadline) {
			t.Fatalf("open descriptors %d, idle value %d: leaked", openFDs(t), baseline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) stats(id string) *rpcv1.SessionStats {
	h.t.Helper()
	st, err := h.client.GetStats(ctxT(h.t), &rpcv1.GetStatsRequest{SessionId: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return st.GetSessions()[0]
}

func (h *harness) endTerminal(id string, code int32) {
	h.t.Helper()
	if _, err := h.client.EndTerminal(ctxT(h.t), &rpcv1.EndTerminalRequest{SessionId: id, ExitCode: code}); err != nil {
		h.t.Fatalf("EndTerminal: %v", err)
	}
}

func (h *harness) closeSession(id, reason string) {
	h.t.Helper()
	if _, err := h.client.CloseSession(ctxT(h.t), &rpcv1.CloseSessionRequest{SessionId: id, Reason: reason}); err != nil {
		h.t.Fatal(err)
	}
	if got := h.waitClosed(id); got != reason {
		h.t.Fatalf("closed with %q, want %q", got, reason)
	}
}

func isEnded(e *rpcv1.SessionEvent) bool { return e.GetTerminalEnded() != nil }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
