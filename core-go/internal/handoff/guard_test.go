package handoff

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A guarded listener hands over connections of the allowed uid only; a
// refused peer is disconnected before the server sees a byte.
func TestGuardRefusesOtherUsers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		accept bool
	}{
		{"own uid", Policy{UID: os.Getuid()}, true},
		{"another uid", Policy{UID: os.Getuid() + 4242}, false},
		{"not the listed pid", Policy{UID: os.Getuid(), PIDs: []int{os.Getpid() + 100000}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "g.sock")
			lis, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			g := tc.policy.Guard(lis, slog.New(slog.NewTextHandler(io.Discard, nil)))
			defer g.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := g.Accept()
				if err == nil {
					accepted <- c
				}
			}()
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			select {
			case s := <-accepted:
				s.Close()
				if !tc.accept {
					t.Fatal("a refused peer was handed to the server")
				}
			case <-time.After(500 * time.Millisecond):
				if tc.accept {
					t.Fatal("an allowed peer was not accepted")
				}
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("refused peer: read %v, want EOF (closed)", err)
				}
			}
		})
	}
}
