package handoff

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// client.py is the agent's side in a few lines of Python (socket.send_fds,
// as the agent will do it): it connects, optionally hands over one end of
// a socketpair for session "nope", and prints the reply.
const clientPy = `
import base64, json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
if sys.argv[2] == "send":
    a, b = socket.socketpair()
    hdr = {"version": 1, "session_id": "nope", "kind": "socket",
           "preread": base64.b64encode(b"\x1b[?2004h$ ").decode()}
    socket.send_fds(s, [json.dumps(hdr).encode()], [b.fileno()])
print(s.recv(4096).decode())
`

func runClient(t *testing.T, path, mode string, cred *syscall.Credential) Reply {
	t.Helper()
	python, err := exec.LookPath("/usr/bin/python3") // not a per-user shim: another uid runs it
	if err != nil {
		t.Fatalf("python3 is part of the build environment: %v", err)
	}
	cmd := exec.Command(python, "-c", clientPy, path, mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	var r Reply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("client printed %q: %v", out, err)
	}
	return r
}

// A Python client (the agent's language) speaks the protocol: its header
// and descriptor are parsed and the session is looked up.
func TestPythonClientInterop(t *testing.T) {
	f := newFixture(t, Policy{UID: os.Getuid()}) // any pid of our uid
	if r := runClient(t, f.path, "send", nil); r.OK || r.Code != CodeUnknownSession {
		t.Fatalf("reply %+v, want unknown_session", r)
	}
}

// A process of another uid that reaches the socket (its mode would stop it
// first; here it is opened up on purpose) is refused by SO_PEERCRED.
func TestOtherUIDIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	dir, err := os.MkdirTemp("", "handoff-uid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixtureAt(t, filepath.Join(dir, "core.sock.fd"), Policy{UID: os.Getuid()})
	if err := os.Chmod(f.path, 0o666); err != nil {
		t.Fatal(err)
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	r := runClient(t, f.path, "connect", nobody)
	if r.OK || r.Code != CodePeerRefused || !strings.Contains(r.Message, "uid 65534") {
		t.Fatalf("reply %+v, want peer_refused for uid 65534", r)
	}
}
