package benchpeer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// maxRequest bounds one request line (an SDP is a few KiB).
const maxRequest = 1 << 20

// Request is one line on stdin. Op names the operation; the other fields are
// its arguments (unused ones are left out).
//
//	new        protocol, files                → peer, sdp (offer with candidates; files: a `files` channel too)
//	answer     peer, sdp                      → (starts the ICE/DTLS clock)
//	candidate  peer, candidate                → (trickled remote candidate)
//	ready      peer, timeout_s                → ice_dtls_us, exec_us
//	echo       peer, count, warmup, interval_ms → rtt_us[], lost
//	echo_many  peers, count, warmup, interval_ms → rtt_us[], lost
//	drain      peer, input, marker, timeout_s → bytes, seconds, messages
//	watch      peer                           → bytes, messages (an observer: its output is read and dropped from now on)
//	raw        bytes, chunk, timeout_s        → seconds
//	raw_echo   count, warmup, interval_ms     → rtt_us[], lost
//	close      peer                           →
//	files_upload   peer, input (local file), path (folder on the target), timeout_s → seconds, bytes, sha256
//	files_download peer, path, timeout_s      → seconds, bytes, sha256 (checked against the device's)
//	exec_open  container, socket, cmd, user, env, cols, rows → exec (a docker exec read natively)
//	exec_echo  exec, count, warmup, interval_ms → rtt_us[], lost
//	exec_echo_many execs, count, warmup, interval_ms → rtt_us[], lost (echo_many on natively read execs)
//	exec_drain exec, input, marker, timeout_s → bytes, seconds
//	exec_close exec                           → (types exit, closes the stream)
//	quit                                      → (then the process exits)
type Request struct {
	ID         int64                    `json:"id"`
	Op         string                   `json:"op"`
	Peer       string                   `json:"peer,omitempty"`
	Peers      []string                 `json:"peers,omitempty"`
	Protocol   string                   `json:"protocol,omitempty"`
	SDP        string                   `json:"sdp,omitempty"`
	Candidate  *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	ICEServers []webrtc.ICEServer       `json:"ice_servers,omitempty"`
	Relay      bool                     `json:"relay,omitempty"`
	Count      int                      `json:"count,omitempty"`
	Warmup     int                      `json:"warmup,omitempty"`
	IntervalMS float64                  `json:"interval_ms,omitempty"`
	TimeoutS   float64                  `json:"timeout_s,omitempty"`
	Input      string                   `json:"input,omitempty"`
	Marker     string                   `json:"marker,omitempty"`
	Bytes      int64                    `json:"bytes,omitempty"`
	Chunk      int                      `json:"chunk,omitempty"`
	Exec       string                   `json:"exec,omitempty"`
	Execs      []string                 `json:"execs,omitempty"`
	Container  string                   `json:"container,omitempty"`
	Socket     string                   `json:"socket,omitempty"`
	Cmd        []string                 `json:"cmd,omitempty"`
	User       string                   `json:"user,omitempty"`
	Env        []string                 `json:"env,omitempty"`
	Cols       int                      `json:"cols,omitempty"`
	Rows       int                      `json:"rows,omitempty"`
	Files      bool                     `json:"files,omitempty"`
	Flood      bool                     `json:"flood,omitempty"` // the peer receives floods: UDP sockets with RecvBuffer
	Path       string                   `json:"path,omitempty"`
}

// Driver runs requests, each in its own goroutine, and writes one JSON line
// per request: {"id", "ok": true, ...result} or {"id", "ok": false, "error"}.
type Driver struct {
	api   *webrtc.API
	flood *webrtc.API // for peers that receive floods (Request.Flood, raw)

	mu    sync.Mutex // guards peers, execs and next
	peers map[string]*Peer
	execs map[string]*Exec
	next  int

	outMu sync.Mutex // serialises lines on out
	out   io.Writer
}

// NewDriver makes a driver whose peers gather on iface.
func NewDriver(iface string, out io.Writer) *Driver {
	return &Driver{api: NewAPI(iface, false), flood: NewAPI(iface, true), peers: map[string]*Peer{}, execs: map[string]*Exec{}, out: out}
}

// Run serves requests from in until EOF or quit, then closes every peer.
func (d *Driver) Run(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxRequest)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		d.closeAll()
	}()
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			d.reply(req.ID, nil, fmt.Errorf("bad request: %w", err))
			continue
		}
		if req.Op == "quit" {
			d.reply(req.ID, map[string]any{}, nil)
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := d.do(req)
			d.reply(req.ID, res, err)
		}()
	}
	return sc.Err()
}

func (d *Driver) reply(id int64, res map[string]any, err error) {
	if res == nil {
		res = map[string]any{}
	}
	res["id"] = id
	res["ok"] = err == nil
	if err != nil {
		res["error"] = err.Error()
	}
	line, _ := json.Marshal(res)
	d.outMu.Lock()
	defer d.outMu.Unlock()
	_, _ = d.out.Write(append(line, '\n'))
}

func (d *Driver) peer(name string) (*Peer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.peers[name]
	if !ok {
		return nil, fmt.Errorf("no peer %q", name)
	}
	return p, nil
}

func (d *Driver) exec(name string) (*Exec, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.execs[name]
	if !ok {
		return nil, fmt.Errorf("no exec %q", name)
	}
	return e, nil
}

// echoMany looks every name up, then runs EchoMany on them all.
func echoMany[T terminal](names []string, get func(string) (T, error), req Request, interval time.Duration) (map[string]any, error) {
	ts := make([]T, 0, len(names))
	for _, name := range names {
		t, err := get(name)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	r, err := EchoMany(ts, req.Count, req.Warmup, interval)
	return map[string]any{"rtt_us": r.RTTMicros, "lost": r.Lost}, err
}

func seconds(s float64, def time.Duration) time.Duration {
	if s <= 0 {
		return def
	}
	return time.Duration(s * float64(time.Second))
}

func (d *Driver) do(req Request) (map[string]any, error) {
	interval := time.Duration(req.IntervalMS * float64(time.Millisecond))
	switch req.Op {
	case "new":
		api := d.api
		if req.Flood {
			api = d.flood
		}
		p, sdp, err := NewPeer(api, req.Protocol, req.ICEServers, req.Relay, req.Files)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.next++
		name := fmt.Sprintf("p%d", d.next)
		d.peers[name] = p
		d.mu.Unlock()
		return map[string]any{"peer": name, "sdp": sdp}, nil
	case "raw":
		took, err := RawThroughput(d.flood, req.Bytes, req.Chunk, seconds(req.TimeoutS, time.Minute))
		return map[string]any{"seconds": took.Seconds()}, err
	case "raw_echo":
		r, err := RawEcho(d.api, req.Count, req.Warmup, interval, seconds(req.TimeoutS, time.Minute))
		return map[string]any{"rtt_us": r.RTTMicros, "lost": r.Lost}, err
	case "echo_many":
		return echoMany(req.Peers, d.peer, req, interval)
	case "exec_echo_many":
		return echoMany(req.Execs, d.exec, req, interval)
	case "exec_open", "exec_echo", "exec_drain", "exec_close":
		return d.doExec(req, interval)
	}
	p, err := d.peer(req.Peer)
	if err != nil {
		return nil, err
	}
	switch req.Op {
	case "answer":
		return nil, p.Answer(req.SDP)
	case "candidate":
		if req.Candidate == nil {
			return nil, nil
		}
		return nil, p.AddCandidate(*req.Candidate)
	case "ready":
		s, err := p.WaitReady(seconds(req.TimeoutS, 30*time.Second))
		return map[string]any{"ice_dtls_us": s.ICEDTLS.Microseconds(), "exec_us": s.Exec.Microseconds()}, err
	case "echo":
		r, err := p.Echo(req.Count, req.Warmup, interval)
		return map[string]any{"rtt_us": r.RTTMicros, "lost": r.Lost}, err
	case "watch":
		b, m := p.Watch()
		return map[string]any{"bytes": b, "messages": m}, nil
	case "drain":
		m0 := p.Messages()
		n, took, err := p.Drain([]byte(req.Input), []byte(req.Marker), seconds(req.TimeoutS, 2*time.Minute))
		return map[string]any{"bytes": n, "seconds": took.Seconds(), "messages": p.Messages() - m0}, err
	case "files_upload", "files_download":
		return d.files(req)
	case "close":
		d.mu.Lock()
		delete(d.peers, req.Peer)
		d.mu.Unlock()
		return nil, p.Close()
	}
	return nil, fmt.Errorf("unknown op %q", req.Op)
}

func (d *Driver) doExec(req Request, interval time.Duration) (map[string]any, error) {
	if req.Op == "exec_open" {
		e, err := OpenExec(ExecConfig{
			Socket: req.Socket, Container: req.Container, Cmd: req.Cmd, User: req.User, Env: req.Env,
			Cols: req.Cols, Rows: req.Rows,
		}, seconds(req.TimeoutS, 30*time.Second))
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.next++
		name := fmt.Sprintf("e%d", d.next)
		d.execs[name] = e
		d.mu.Unlock()
		return map[string]any{"exec": name}, nil
	}
	d.mu.Lock()
	e, ok := d.execs[req.Exec]
	if ok && req.Op == "exec_close" {
		delete(d.execs, req.Exec)
	}
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no exec %q", req.Exec)
	}
	switch req.Op {
	case "exec_echo":
		r, err := e.Echo(req.Count, req.Warmup, interval)
		return map[string]any{"rtt_us": r.RTTMicros, "lost": r.Lost}, err
	case "exec_drain":
		n, took, err := e.Drain([]byte(req.Input), []byte(req.Marker), seconds(req.TimeoutS, 2*time.Minute))
		return map[string]any{"bytes": n, "seconds": took.Seconds()}, err
	}
	return nil, e.Close()
}

func (d *Driver) closeAll() {
	d.mu.Lock()
	peers, execs := d.peers, d.execs
	d.peers, d.execs = map[string]*Peer{}, map[string]*Exec{}
	d.mu.Unlock()
	for _, p := range peers {
		_ = p.Close()
	}
	for _, e := range execs {
		_ = e.Close()
	}
}
