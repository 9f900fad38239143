package rtc

import "time"

// SCTPRTOMax caps the data channels' SCTP retransmission timeout (pion's
// default is 60 s). While a path is gone, every retransmission doubles the
// timer (1, 2, 4, 8 s ...), and once the path is back the bytes wait for the
// next retransmission, not for ICE: after a 10 s cut the terminal's output
// came back ~5 s after ICE had (docs/reliability.md, "Faults, measured"),
// and after a minute's cut it would be up to 60 s. With the cap the timer
// stays at 2 s, so output follows within about 2 s of ICE coming back (the
// issue 11 aim). The price: on a path whose round trip exceeds ~2 s
// (the timer's floor is 1 s, RTT + 4 × its variation above that), a chunk
// is retransmitted before its ack can come back, which costs bandwidth and
// halves the congestion window; a terminal's traffic is small.
const SCTPRTOMax = 2 * time.Second
