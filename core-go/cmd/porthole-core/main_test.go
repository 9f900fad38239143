package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// waitTimeout bounds the waits on the child process.
const waitTimeout = 30 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds porthole-core once per test run into a temp dir.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "porthole-core-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "porthole-core")
		// -trimpath as in `make core`, so the build cache of that build is reused.
		// Plain "go": `go test` puts its own GOROOT/bin first on the test's PATH.
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the child's stderr copier.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary with a pipe on its stdin and waits until it serves.
func start(t *testing.T, sock string) (*exec.Cmd, *os.File, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary(t), "--listen", sock, "--ice-interfaces", "lo", "--ice-loopback", "--log-level", "debug")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	waitServing(t, sock, stderr)
	return cmd, stdin.(*os.File), stderr
}

func waitServing(t *testing.T, sock string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "porthole.rpc.v1.Sidecar"})
			cancel()
			conn.Close()
			if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidecar not serving: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("did not exit\n%s", stderr.String())
	}
}

func TestExitsWhenStdinCloses(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "core.sock")
	cmd, stdin, stderr := start(t, sock)

	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode %o, want 600", perm)
	}
	// The handoff socket sits next to it, as private, and takes us: we
	// are porthole-core's parent, as the agent is.
	fi, err = os.Stat(sock + ".fd")
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("handoff socket mode %v, want a 0600 socket", fi.Mode())
	}
	if reply := handoffUnknown(t, sock+".fd"); !strings.Contains(reply, `"code":"unknown_session"`) {
		t.Errorf("handoff from the parent: %s", reply)
	}
	// Reflection answers (grpcurl works).
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "porthole.rpc.v1.Sidecar") {
		t.Errorf("reflection lists %v", names)
	}
	_ = rs.CloseSend()
	conn.Close()

	stdin.Close()
	waitExit(t, cmd, stderr)
	if !strings.Contains(stderr.String(), "stdin closed") {
		t.Errorf("log lacks the cause:\n%s", stderr.String())
	}
	if _, err := os.Stat(sock + ".fd"); !os.IsNotExist(err) {
		t.Errorf("handoff socket left behind: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestExitsOnSIGTERM(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "core.sock")
	cmd, _, stderr := start(t, sock)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, cmd, stderr)
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()

	// A stale socket file is replaced.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := listenUnix(stale)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	// A live one is not.
	if _, err := listenUnix(stale); err == nil || !strings.Contains(err.Error(), "listening") {
		t.Fatalf("live socket: %v", err)
	}
	l2.Close()

	// Nor is a regular file.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenUnix(file); err == nil {
		t.Fatal("regular file replaced")
	}
}

// A stale socket where others could have made it (a folder they can
// write, like /tmp) is not ours to delete: refused, left in place.
func TestListenUnixLeavesOthersSockets(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "core.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := listenUnix(stale); err == nil || !strings.Contains(err.Error(), "refusing to remove") {
		t.Fatalf("stale socket in a shared folder: %v", err)
	}
	if _, err := os.Lstat(stale); err != nil {
		t.Fatalf("the stale socket was removed: %v", err)
	}
}

// At exit porthole-core removes its socket only while the path still
// names the file it created.
func TestRemoveIfSame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "core.sock")
	l, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	mine := created(path)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("Close removed the path itself: %v", err)
	}
	// Someone replaces it (renames theirs over it): theirs stays.
	theirs := path + ".theirs"
	other, err := net.Listen("unix", theirs)
	if err != nil {
		t.Fatal(err)
	}
	other.(*net.UnixListener).SetUnlinkOnClose(false)
	defer other.Close()
	if err := os.Rename(theirs, path); err != nil {
		t.Fatal(err)
	}
	if err := mine.removeIfSame(); err == nil || !strings.Contains(err.Error(), "no longer") {
		t.Fatalf("replaced socket: %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the other socket was removed: %v", err)
	}
	// Our own, unchanged, is removed; a missing one is not an error.
	if err := created(path).removeIfSame(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
	if err := mine.removeIfSame(); err != nil {
		t.Fatal(err)
	}
}

// handoffUnknown hands a descriptor over for a session that does not
// exist and returns the reply: the peer check passed if it is
// unknown_session.
func handoffUnknown(t *testing.T, path string) string {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	msg := []byte(`{"version":1,"session_id":"none","kind":"socket"}`)
	if _, _, err := c.WriteMsgUnix(msg, syscall.UnixRights(fds[1]), nil); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 1024)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestListenUnixPacket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "core.sock.fd")
	stale, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	l, err := listenUnixPacket(path)
	if err != nil {
		t.Fatalf("stale packet socket: %v", err)
	}
	defer l.Close()
	// A live packet socket is recognised (the probe dials its own type).
	if _, err := listenUnixPacket(path); err == nil || !strings.Contains(err.Error(), "listening") {
		t.Fatalf("live packet socket: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
}

func TestUsageAndBadFlags(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, strings.NewReader(""), &out); code != 0 || !strings.Contains(out.String(), "--listen") && !strings.Contains(out.String(), "-listen") {
		t.Fatalf("help: code %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--mdns=loud"}, strings.NewReader(""), &out); code != 2 {
		t.Fatalf("bad flags: code %d\n%s", code, out.String())
	}
}
