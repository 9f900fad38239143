package benchpeer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pion/webrtc/v4"
)

// The `files` channel's flow control, as the page does it (docs/protocol.md
// §5d): 64 KiB chunks, at most window bytes past the device's last ack, and
// the channel's own buffer kept under filesHigh.
const (
	filesChunk = 64 << 10
	filesHigh  = 1 << 20
	filesLow   = 256 << 10
)

// Files is a peer's `files` channel: control messages and binary chunks.
type Files struct {
	dc    *webrtc.DataChannel
	msgs  chan map[string]any
	data  chan []byte
	low   chan struct{}
	ready chan struct{}
	seq   int
}

func newFiles(pc *webrtc.PeerConnection) (*Files, error) {
	ordered := true
	dc, err := pc.CreateDataChannel("files", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return nil, err
	}
	f := &Files{dc: dc, msgs: make(chan map[string]any, 256), data: make(chan []byte, 256),
		low: make(chan struct{}, 1), ready: make(chan struct{})}
	dc.SetBufferedAmountLowThreshold(filesLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case f.low <- struct{}{}:
		default:
		}
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			f.data <- m.Data
			return
		}
		var msg map[string]any
		if json.Unmarshal(m.Data, &msg) != nil {
			return
		}
		if msg["type"] == "ready" {
			close(f.ready)
			return
		}
		f.msgs <- msg
	})
	return f, nil
}

func (f *Files) send(v any) error {
	b, _ := json.Marshal(v)
	return f.dc.SendText(string(b))
}

// next waits for the next control message (acks skipped unless wantAck).
func (f *Files) next(deadline time.Time, wantAck bool) (map[string]any, error) {
	for {
		select {
		case m := <-f.msgs:
			if m["type"] == "ack" && !wantAck {
				continue
			}
			if m["type"] == "error" {
				return nil, fmt.Errorf("device: %v %v", m["code"], m["message"])
			}
			return m, nil
		case <-time.After(time.Until(deadline)):
			return nil, ErrTimeout
		}
	}
}

func (d *Driver) files(req Request) (map[string]any, error) {
	p, err := d.peer(req.Peer)
	if err != nil {
		return nil, err
	}
	f := p.files
	if f == nil {
		return nil, errors.New("peer has no files channel")
	}
	deadline := time.Now().Add(seconds(req.TimeoutS, 120*time.Second))
	select {
	case <-f.ready:
	case <-time.After(time.Until(deadline)):
		return nil, fmt.Errorf("files ready: %w", ErrTimeout)
	}
	f.seq++
	id := fmt.Sprintf("b%d", f.seq)
	if req.Op == "files_upload" {
		return f.upload(id, req.Input, req.Path, deadline)
	}
	return f.download(id, req.Path, deadline)
}

func (f *Files) upload(id, local, dir string, deadline time.Time) (map[string]any, error) {
	data, err := os.ReadFile(local)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	start := time.Now()
	if err := f.send(map[string]any{"type": "upload", "id": id, "name": filepath.Base(local), "size": len(data),
		"sha256": want, "dir": dir}); err != nil {
		return nil, err
	}
	if _, err := f.next(deadline, false); err != nil { // accepted
		return nil, err
	}
	acked, sent := 0, 0
	for sent < len(data) {
		if sent-acked >= filesHigh || f.dc.BufferedAmount() > filesHigh {
			select {
			case m := <-f.msgs:
				if m["type"] == "error" {
					return nil, fmt.Errorf("device: %v", m["code"])
				}
				if m["type"] == "ack" {
					acked = int(m["bytes"].(float64))
				}
			case <-f.low:
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return nil, ErrTimeout
			}
			continue
		}
		end := min(sent+filesChunk, len(data))
		if err := f.dc.Send(data[sent:end]); err != nil {
			return nil, err
		}
		sent = end
	}
	done, err := f.next(deadline, false)
	if err != nil {
		return nil, err
	}
	if done["type"] != "done" || done["sha256"] != want {
		return nil, fmt.Errorf("upload ended with %v", done)
	}
	return map[string]any{"seconds": time.Since(start).Seconds(), "bytes": len(data), "sha256": want,
		"path": done["path"]}, nil
}

func (f *Files) download(id, path string, deadline time.Time) (map[string]any, error) {
	start := time.Now()
	if err := f.send(map[string]any{"type": "download", "id": id, "path": path}); err != nil {
		return nil, err
	}
	head, err := f.next(deadline, false)
	if err != nil {
		return nil, err
	}
	if head["type"] != "file" {
		return nil, fmt.Errorf("download: %v", head)
	}
	size := int(head["size"].(float64))
	h := sha256.New()
	n := 0
	for n < size {
		select {
		case b := <-f.data:
			h.Write(b)
			n += len(b)
		case m := <-f.msgs:
			// Control and data arrive in order on the channel but on two Go channels here:
			// the bytes before a `done` may still be queued.
			if m["type"] != "done" {
				return nil, fmt.Errorf("download: %v after %d bytes", m, n)
			}
			for n < size {
				select {
				case b := <-f.data:
					h.Write(b)
					n += len(b)
				case <-time.After(time.Until(deadline)):
					return nil, ErrTimeout
				}
			}
			return f.downloaded(m, h.Sum(nil), n, start)
		case <-time.After(time.Until(deadline)):
			return nil, ErrTimeout
		}
	}
	done, err := f.next(deadline, false)
	if err != nil {
		return nil, err
	}
	return f.downloaded(done, h.Sum(nil), n, start)
}

func (f *Files) downloaded(done map[string]any, sum []byte, n int, start time.Time) (map[string]any, error) {
	got := hex.EncodeToString(sum)
	if done["type"] != "done" || done["sha256"] != got {
		return nil, fmt.Errorf("download ended with %v, hashed %s", done, got)
	}
	return map[string]any{"seconds": time.Since(start).Seconds(), "bytes": n, "sha256": got}, nil
}
