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

// RawThroughput sends total bytes over a data channel between two pion
// peers in this process (both on the bench's interface) and returns the time
// from the first send to the last byte received: the transport's ceiling,
// with no terminal, agent or Docker in the way.
func RawThroughput(api *webrtc.API, total int64, timeout time.Duration) (time.Duration, error) {
	offerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer offerer.Close()
	answerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer answerer.Close()

	var received atomic.Int64
	done := make(chan struct{})
	answerer.OnDataChannel(func(dc *webrtc.DataChannel) {
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
	ordered := true
	dc, err := offerer.CreateDataChannel("raw", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return 0, err
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(rawLowWaterMark)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	if err := connect(offerer, answerer); err != nil {
		return 0, err
	}
	deadline := time.After(timeout)
	select {
	case <-opened:
	case <-deadline:
		return 0, fmt.Errorf("raw channel open: %w", ErrTimeout)
	}

	payload := make([]byte, rawChunk)
	start := time.Now()
	for sent := int64(0); sent < total; {
		n := min(int64(rawChunk), total-sent)
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
