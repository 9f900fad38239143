// Package testpeer is the remote peer of the tests: a pion PeerConnection in
// the same process acting as the browser (the offerer, which creates the
// `terminal` channel), restricted to loopback. Only tests import it.
package testpeer

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Timeout bounds every wait in the helpers; generous for -race on 2 cores.
const Timeout = 20 * time.Second

// Message is one data channel message received by the peer.
type Message struct {
	Data   []byte
	IsText bool
}

// Peer is the offering side of a test session.
type Peer struct {
	t  testing.TB
	PC *webrtc.PeerConnection
	DC *webrtc.DataChannel

	Messages   chan Message  // everything the channel received
	Candidates chan string   // local candidates ("" = gathering done)
	Opened     chan struct{} // the channel is open
	Closed     chan struct{} // the channel closed
	block      chan struct{} // while non-nil, OnMessage blocks on it
	mu         sync.Mutex    // guards block
	closeOnce  sync.Once
	done       chan struct{} // closed by Close
	doneOnce   sync.Once
	states     chan webrtc.PeerConnectionState
}

// Options shape the peer.
type Options struct {
	// Protocol is the channel's sub-protocol ("" JSON, "porthole-binary").
	Protocol string
	// Label defaults to "terminal".
	Label string
	// ExtraChannel, when set, is a second channel the sidecar must refuse.
	ExtraChannel string
}

// LoopbackAPI is a pion API that gathers only loopback candidates.
func LoopbackAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// New creates the peer and its channel. Close it with Close (registered as
// a test cleanup too).
func New(t testing.TB, opt Options) *Peer {
	t.Helper()
	pc, err := LoopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{
		t:          t,
		PC:         pc,
		Messages:   make(chan Message, 4096),
		Candidates: make(chan string, 64),
		Opened:     make(chan struct{}),
		Closed:     make(chan struct{}),
		states:     make(chan webrtc.PeerConnectionState, 16),
		done:       make(chan struct{}),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			p.Candidates <- ""
			return
		}
		p.Candidates <- c.ToJSON().Candidate
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		select {
		case p.states <- s:
		default:
		}
	})
	label := opt.Label
	if label == "" {
		label = "terminal"
	}
	ordered := true
	dc, err := pc.CreateDataChannel(label, &webrtc.DataChannelInit{Ordered: &ordered, Protocol: &opt.Protocol})
	if err != nil {
		t.Fatal(err)
	}
	p.DC = dc
	dc.OnOpen(func() { close(p.Opened) })
	dc.OnClose(func() { p.closeOnce.Do(func() { close(p.Closed) }) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		p.mu.Lock()
		block := p.block
		p.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-p.done:
				return
			}
		}
		select {
		case p.Messages <- Message{Data: m.Data, IsText: m.IsString}:
		case <-p.done:
		}
	})
	if opt.ExtraChannel != "" {
		if _, err := pc.CreateDataChannel(opt.ExtraChannel, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(p.Close)
	return p
}

// Offer creates and applies the local offer and returns its SDP (without
// candidates: they trickle on Candidates).
func (p *Peer) Offer() string {
	p.t.Helper()
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.PC.SetLocalDescription(offer); err != nil {
		p.t.Fatal(err)
	}
	return offer.SDP
}

// Answer applies the remote answer.
func (p *Peer) Answer(sdp string) {
	p.t.Helper()
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		p.t.Fatal(err)
	}
}

// AddCandidate applies a remote candidate from the sidecar.
func (p *Peer) AddCandidate(c string) {
	p.t.Helper()
	if err := p.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
		p.t.Errorf("add candidate: %v", err)
	}
}

// WaitOpen waits for the channel to open.
func (p *Peer) WaitOpen() {
	p.t.Helper()
	select {
	case <-p.Opened:
	case <-time.After(Timeout):
		p.t.Fatal("data channel did not open")
	}
}

// SendText sends a text message.
func (p *Peer) SendText(s string) {
	p.t.Helper()
	if err := p.DC.SendText(s); err != nil {
		p.t.Fatal(err)
	}
}

// Send sends a binary message.
func (p *Peer) Send(b []byte) {
	p.t.Helper()
	if err := p.DC.Send(b); err != nil {
		p.t.Fatal(err)
	}
}

// Next returns the next message or fails the test.
func (p *Peer) Next() Message {
	p.t.Helper()
	select {
	case m := <-p.Messages:
		return m
	case <-time.After(Timeout):
		p.t.Fatal("no message from the sidecar")
		return Message{}
	}
}

// Block makes the channel's reader stop reading (a peer that does not keep
// up); Unblock resumes it.
func (p *Peer) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.block == nil {
		p.block = make(chan struct{})
	}
}

// Unblock resumes reading.
func (p *Peer) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.block != nil {
		close(p.block)
		p.block = nil
	}
}

// Close closes the peer connection and waits for pion's goroutines.
func (p *Peer) Close() {
	p.doneOnce.Do(func() { close(p.done) })
	if err := p.PC.GracefulClose(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.t.Logf("close test peer: %v", err)
	}
}
