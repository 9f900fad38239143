package benchpeer

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The raw pair on loopback carries every byte and echoes every message, and
// leaves no goroutine behind. Figures are for `make bench`, not asserted here.
func TestRawPair(t *testing.T) {
	defer goleak.VerifyNone(t)
	api := NewAPI("lo", true)
	took, err := RawThroughput(api, 1<<20, 4<<10, 20*time.Second)
	if err != nil || took <= 0 {
		t.Fatalf("RawThroughput = %v, %v", took, err)
	}
	res, err := RawEcho(api, 5, 1, time.Millisecond, 20*time.Second)
	if err != nil || res.Lost != 0 || len(res.RTTMicros) != 5 {
		t.Fatalf("RawEcho = %+v, %v", res, err)
	}
}
