package rtc

import (
	"strings"
	"sync"
	"time"
)

// maxTURNErrors bounds the TURN errors kept: enough for every TURN URL of
// the sessions that gather at the same moment, small enough to scan on
// each diagnosis.
const maxTURNErrors = 64

// turnErrors keeps pion's recent TURN failures (pion gives no event for
// them, only a log line: "failed to allocate on TURN client ADDR: ERR",
// "Failed to dial TCP address ADDR: ERR"), so that a session's diagnosis
// can say why its allocation failed. Fed by pionLogs; shared by the
// manager's sessions, told apart by the TURN server's address and time.
type turnErrors struct {
	mu   sync.Mutex // guards list
	list []turnError
}

type turnError struct {
	at  time.Time
	msg string // already redacted
}

// turnFailureMarkers are substrings of pion/ice's log lines about a TURN
// server that could not be reached or refused the allocation.
var turnFailureMarkers = []string{"TURN client", "relay", "TCP address", "DTLS address"}

// note records msg when it is about a TURN failure.
func (t *turnErrors) note(msg string) {
	if t == nil {
		return
	}
	found := false
	for _, m := range turnFailureMarkers {
		if strings.Contains(msg, m) {
			found = true
			break
		}
	}
	if !found {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.list) >= maxTURNErrors {
		t.list = append(t.list[:0], t.list[1:]...)
	}
	t.list = append(t.list, turnError{at: time.Now(), msg: msg})
}

// since returns the newest error at or after start that names one of addrs,
// or "" when there is none.
func (t *turnErrors) since(start time.Time, addrs []string) string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.list) - 1; i >= 0; i-- {
		e := t.list[i]
		if e.at.Before(start) {
			break
		}
		for _, a := range addrs {
			if strings.Contains(e.msg, a) {
				return e.msg
			}
		}
	}
	return ""
}
