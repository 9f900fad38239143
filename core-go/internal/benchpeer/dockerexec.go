package benchpeer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// execReadChunk is the size of one read from the exec's stream, as the
// agent's DockerExec reads (64 KiB).
const execReadChunk = 64 << 10

// ExecConfig is an interactive docker exec with a TTY, as the agent creates it.
type ExecConfig struct {
	Socket    string   // the Docker Engine API's unix socket
	Container string   // name or id
	Cmd       []string // the shell
	User      string
	Env       []string // KEY=value
	Cols      int
	Rows      int
}

// Exec is a docker exec's hijacked stream read and written natively, with
// no WebRTC and no Python: the floor of the keystroke and throughput
// sections as a native reader sees it (the Python floor reads the same
// stream with asyncio).
type Exec struct {
	conn net.Conn
	out  chan []byte // closed when the stream ends
}

// OpenExec creates the exec, starts it attached (the HTTP upgrade) and sets
// its TTY size. The prompt arrives on the output.
func OpenExec(c ExecConfig, timeout time.Duration) (*Exec, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
	defer client.CloseIdleConnections()
	var created struct{ ID string }
	err := call(ctx, client, "/containers/"+url.PathEscape(c.Container)+"/exec", map[string]any{
		"AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "Tty": true,
		"Cmd": c.Cmd, "User": c.User, "Env": c.Env, "Privileged": false,
	}, &created)
	if err != nil {
		return nil, fmt.Errorf("exec create: %w", err)
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	br, err := upgrade(ctx, conn, created.ID)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("exec start: %w", err)
	}
	if c.Cols > 0 && c.Rows > 0 {
		path := fmt.Sprintf("/exec/%s/resize?h=%d&w=%d", created.ID, c.Rows, c.Cols)
		if err := call(ctx, client, path, nil, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("exec resize: %w", err)
		}
	}
	e := &Exec{conn: conn, out: make(chan []byte, outputQueue)}
	go e.read(br)
	return e, nil
}

// call POSTs body (JSON, or nothing) to the Engine API and decodes the reply into into.
func call(ctx context.Context, client *http.Client, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// upgrade starts the exec attached on conn: Docker answers 101 and the
// connection becomes the raw TTY stream (no multiplexing headers with a TTY).
func upgrade(ctx context.Context, conn net.Conn, id string) (*bufio.Reader, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
		defer func() { _ = conn.SetDeadline(time.Time{}) }()
	}
	body := `{"Detach":false,"Tty":true}`
	req := fmt.Sprintf("POST /exec/%s/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"+
		"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, execReadChunk)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected answer %s", resp.Status)
	}
	return br, nil
}

func (e *Exec) read(br *bufio.Reader) {
	defer close(e.out)
	buf := make([]byte, execReadChunk)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			e.out <- append([]byte(nil), buf[:n]...) // a PTY read is often a few KiB: copy only that
		}
		if err != nil {
			return
		}
	}
}

// Type writes keystrokes to the exec's stdin.
func (e *Exec) Type(b []byte) error {
	_, err := e.conn.Write(b)
	return err
}

func (e *Exec) output() <-chan []byte { return e.out }

// Echo times keystrokes as Peer.Echo does, straight through the exec.
func (e *Exec) Echo(count, warmup int, interval time.Duration) (EchoResult, error) {
	return echo(e, count, warmup, interval)
}

// Drain runs a command and reads until its marker, as Peer.Drain does.
func (e *Exec) Drain(input, marker []byte, timeout time.Duration) (int64, time.Duration, error) {
	return drain(e, input, marker, timeout)
}

// Close types `exit` (the shell ends, and with it the exec), waits a little
// for the stream to end, and closes the connection.
func (e *Exec) Close() error {
	_ = e.Type([]byte("\x15exit\r"))
	end := time.After(2 * time.Second)
	for {
		select {
		case _, ok := <-e.out:
			if ok {
				continue
			}
		case <-end:
		}
		err := e.conn.Close()
		go func() { // the reader ends on the closed connection
			for range e.out {
			}
		}()
		return err
	}
}
