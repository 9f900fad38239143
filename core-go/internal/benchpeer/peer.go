// Package benchpeer is the client side of `make bench`: pion peers that play
// the browser (offerer, `terminal` channel) and time what they receive, plus a
// raw pion↔pion channel for the transport's ceiling. The Python orchestrator
// (python/src/porthole/bench) drives it over stdin/stdout (driver.go); every
// duration is measured here, next to the data channel, on the monotonic clock.
package benchpeer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Protocols of the `terminal` channel (docs/protocol.md §5).
const (
	ProtocolJSON   = ""
	ProtocolBinary = "porthole-binary"
)

// outputQueue bounds output chunks waiting for a reader; when full, the
// channel's read loop blocks and SCTP pushes back, as a slow browser would.
const outputQueue = 4096

// ErrTimeout is returned by every wait that ran past its deadline.
var ErrTimeout = errors.New("timed out")

// NewAPI is a pion API that gathers UDP4 host candidates on one interface
// only (the bench's namespace interface, or "lo"), with mDNS off. flood: its
// peers receive floods (the throughput section), and their UDP sockets get
// RecvBuffer (rcvbuf.go).
func NewAPI(iface string, flood bool) *webrtc.API {
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == iface })
	se.SetIncludeLoopbackCandidate(iface == "lo")
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if flood {
		if n, err := newBufNet(); err == nil {
			se.SetNet(n)
		}
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// Peer is one client session: the offerer with a `terminal` channel.
type Peer struct {
	pc     *webrtc.PeerConnection
	dc     *webrtc.DataChannel
	binary bool
	files  *Files // the `files` channel, when asked (files.go)

	out      chan []byte   // output payloads, decoded from JSON in JSON mode
	opened   chan struct{} // the channel is open
	firstOut chan struct{} // the first output byte arrived
	closed   chan struct{} // Close was called (ends Watch's reader)

	watchOnce sync.Once
	closeOnce sync.Once

	mu           sync.Mutex // guards the fields below
	answeredAt   time.Time
	openedAt     time.Time
	firstOutAt   time.Time
	firstClosed  bool
	bytesIn      int64
	messagesIn   int64 // output messages
	otherInbound int64 // non-output JSON messages (pong, exit, error)
}

// NewPeer creates a peer and its channel and returns it with its offer SDP,
// complete with candidates (gathering is waited for, so no trickle is needed
// towards the remote; the remote's candidates may still trickle in).
// servers are ICE servers (a TURN relay from the session:open ack); relay
// makes the peer use relayed candidates only, as iceTransportPolicy "relay".
func NewPeer(api *webrtc.API, protocol string, servers []webrtc.ICEServer, relay, files bool) (*Peer, string, error) {
	cfg := webrtc.Configuration{ICEServers: servers}
	if relay {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, "", err
	}
	p := &Peer{
		pc:       pc,
		binary:   protocol == ProtocolBinary,
		out:      make(chan []byte, outputQueue),
		opened:   make(chan struct{}),
		firstOut: make(chan struct{}),
		closed:   make(chan struct{}),
	}
	ordered := true
	dc, err := pc.CreateDataChannel("terminal", &webrtc.DataChannelInit{Ordered: &ordered, Protocol: &protocol})
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	p.dc = dc
	dc.OnOpen(func() {
		p.mu.Lock()
		p.openedAt = time.Now()
		p.mu.Unlock()
		close(p.opened)
	})
	dc.OnMessage(p.onMessage)
	if files {
		if p.files, err = newFiles(pc); err != nil {
			_ = pc.Close()
			return nil, "", err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		_ = pc.Close()
		return nil, "", fmt.Errorf("gathering: %w", ErrTimeout)
	}
	return p, pc.LocalDescription().SDP, nil
}

type peerMessage struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

func (p *Peer) onMessage(m webrtc.DataChannelMessage) {
	data := m.Data
	if m.IsString {
		var msg peerMessage
		if err := json.Unmarshal(m.Data, &msg); err != nil || msg.Type != "output" {
			p.mu.Lock()
			p.otherInbound++
			p.mu.Unlock()
			return
		}
		data = []byte(msg.Data)
	}
	if len(data) == 0 {
		return
	}
	p.mu.Lock()
	p.bytesIn += int64(len(data))
	p.messagesIn++
	if !p.firstClosed {
		p.firstClosed = true
		p.firstOutAt = time.Now()
		close(p.firstOut)
	}
	p.mu.Unlock()
	p.out <- data
}

// Answer applies the remote answer and starts the ICE/DTLS clock.
func (p *Peer) Answer(sdp string) error {
	p.mu.Lock()
	p.answeredAt = time.Now()
	p.mu.Unlock()
	return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
}

// AddCandidate applies one trickled remote candidate ("" = end of candidates).
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate == "" {
		return nil
	}
	return p.pc.AddICECandidate(c)
}

// Setup is the client-side split of session setup after the answer.
type Setup struct {
	// ICEDTLS: answer applied → channel open (ICE checks, DTLS, SCTP, DCEP).
	ICEDTLS time.Duration
	// Exec: channel open → first output byte (the device starts the shell
	// only once the channel is open).
	Exec time.Duration
}

// WaitReady waits for the channel to open and the first output byte.
func (p *Peer) WaitReady(timeout time.Duration) (Setup, error) {
	deadline := time.After(timeout)
	for _, ch := range []chan struct{}{p.opened, p.firstOut} {
		select {
		case <-ch:
		case <-deadline:
			return Setup{}, fmt.Errorf("channel open / first output: %w", ErrTimeout)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return Setup{ICEDTLS: p.openedAt.Sub(p.answeredAt), Exec: p.firstOutAt.Sub(p.openedAt)}, nil
}

// Type sends keystrokes: a binary message in binary mode, else JSON input.
func (p *Peer) Type(b []byte) error {
	if p.binary {
		return p.dc.Send(b)
	}
	msg, err := json.Marshal(map[string]string{"type": "input", "data": string(b)})
	if err != nil {
		return err
	}
	return p.dc.SendText(string(msg))
}

// Discard drops output that arrived until the terminal has been quiet for
// quiet (or until max has passed): the prompt, earlier echoes.
func (p *Peer) Discard(quiet, max time.Duration) { discard(p.out, quiet, max) }

// output is the peer's decoded output chunks.
func (p *Peer) output() <-chan []byte { return p.out }

// Messages is the number of output messages received so far.
func (p *Peer) Messages() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.messagesIn
}

// Drain sends input (a command line) and reads output until marker has been
// seen; it returns the output bytes received and the time from sending to
// the marker.
func (p *Peer) Drain(input, marker []byte, timeout time.Duration) (int64, time.Duration, error) {
	return drain(p, input, marker, timeout)
}

// Close closes the peer connection.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() { close(p.closed) })
	return p.pc.GracefulClose()
}
