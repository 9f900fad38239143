package benchpeer

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// The raw channel sends like the sidecar's terminal bridge does
// (core-go/internal/terminal/limits.go): 16 KiB messages, pausing above
// 1 MiB buffered until the amount falls to 256 KiB.
const (
	rawChunk         = 16 << 10
	rawHighWaterMark = 1 << 20
	rawLowWaterMark  = 256 << 10
)

// rawPair is two pion peers in this process (both on the bench's interface)
// joined by one ordered data channel. onRemote handles the answerer's side
// of the channel; Close closes both peers.
type rawPair struct {
	offerer, answerer *webrtc.PeerConnection
	dc                *webrtc.DataChannel // the offerer's end
}

func newRawPair(api *webrtc.API, timeout time.Duration, onRemote func(*webrtc.DataChannel)) (*rawPair, error) {
	offerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	answerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = offerer.Close()
		return nil, err
	}
	p := &rawPair{offerer: offerer, answerer: answerer}
	answerer.OnDataChannel(onRemote)
	ordered := true
	if p.dc, err = offerer.CreateDataChannel("raw", &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
		p.Close()
		return nil, err
	}
	opened := make(chan struct{})
	p.dc.OnOpen(func() { close(opened) })
	if err := connect(offerer, answerer); err != nil {
		p.Close()
		return nil, err
	}
	select {
	case <-opened:
		return p, nil
	case <-time.After(timeout):
		p.Close()
		return nil, fmt.Errorf("raw channel open: %w", ErrTimeout)
	}
}

func (p *rawPair) Close() {
	_ = p.offerer.Close()
	_ = p.answerer.Close()
}

// RawThroughput sends total bytes from one pion peer to another, in messages
// of chunk bytes (0: 16 KiB, as porthole-core's largest), and returns
// the time from the first send to the last byte received: the transport's
// ceiling, with no terminal, agent or Docker in the way.
func RawThroughput(api *webrtc.API, total int64, chunk int, timeout time.Duration) (time.Duration, error) {
	if chunk <= 0 {
		chunk = rawChunk
	}
	var received atomic.Int64
	done := make(chan struct{})
	pair, err := newRawPair(api, timeout, func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if received.Add(int64(len(m.Data))) >= total {
				select {
				case <-done:
				default:
					close(done)
				}
			}
		})
	})
	if err != nil {
		return 0, err
	}
	defer pair.Close()
	dc := pair.dc
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(rawLowWaterMark)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	deadline := time.After(timeout)
	payload := make([]byte, chunk)
	start := time.Now()
	for sent := int64(0); sent < total; {
		n := min(int64(chunk), total-sent)
		for dc.BufferedAmount() > rawHighWaterMark {
			select {
			case <-low:
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				return 0, fmt.Errorf("raw send: %w", ErrTimeout)
			}
		}
		if err := dc.Send(payload[:n]); err != nil {
			return 0, err
		}
		sent += n
	}
	select {
	case <-done:
		return time.Since(start), nil
	case <-deadline:
		return 0, fmt.Errorf("raw receive (%d of %d bytes): %w", received.Load(), total, ErrTimeout)
	}
}

// RawEcho sends count one-byte messages, one every interval, to a pion peer
// that sends each straight back, and times each round trip: the transport's
// share of a keystroke, with no terminal, agent or Docker in the way.
func RawEcho(api *webrtc.API, count, warmup int, interval, timeout time.Duration) (EchoResult, error) {
	res := EchoResult{RTTMicros: make([]float64, 0, count)}
	pair, err := newRawPair(api, timeout, func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { _ = dc.Send(m.Data) })
	})
	if err != nil {
		return res, err
	}
	defer pair.Close()
	back := make(chan struct{}, 16)
	pair.dc.OnMessage(func(webrtc.DataChannelMessage) { back <- struct{}{} })
	next := time.Now()
	for i := 0; i < warmup+count; i++ {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		start := time.Now()
		if err := pair.dc.Send([]byte{'x'}); err != nil {
			return res, err
		}
		select {
		case <-back:
		case <-time.After(EchoTimeout):
			if i >= warmup {
				res.Lost++
			}
			continue
		}
		if i >= warmup {
			res.RTTMicros = append(res.RTTMicros, float64(time.Since(start).Microseconds()))
		}
	}
	return res, nil
}

// connect does a complete (non-trickle) offer/answer between two local peers.
func connect(offerer, answerer *webrtc.PeerConnection) error {
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		return err
	}
	og := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		return err
	}
	<-og
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		return err
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		return err
	}
	ag := webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		return err
	}
	<-ag
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		return errors.Join(errors.New("apply answer"), err)
	}
	return nil
}
