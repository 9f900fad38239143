package main

import "runtime"

// defaultProcs is porthole-core's GOMAXPROCS when the environment sets none.
//
// Its work is many short hand-offs between goroutines for every packet:
// pion's data channel read and write loops, and pion/dtls, which starts a
// goroutine for each datagram it writes (a context watcher) and each it
// reads. With more than one P, each hand-off may wake another OS thread
// (futex) that then spins for work: in a CPU profile of the bench's
// throughput section that scheduling took about a quarter of porthole-core's
// CPU, more when other processes competed for the cores. On one P the hand-offs
// stay on one thread. porthole-core needs less than a core even for the
// bench's 200 typing sessions, and VP8 encoding (cgo) runs outside the P.
// GOMAXPROCS in the environment (inherited from the agent) wins.
const defaultProcs = 1

// setProcs applies defaultProcs unless the environment has GOMAXPROCS; it
// returns the GOMAXPROCS in effect.
func setProcs(lookup func(string) (string, bool)) int {
	if _, ok := lookup("GOMAXPROCS"); ok {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(defaultProcs)
	return defaultProcs
}
