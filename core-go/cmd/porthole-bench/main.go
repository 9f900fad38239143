// Command porthole-bench is the WebRTC client of `make bench`: pion peers
// playing the browser, driven by the Python orchestrator (porthole.bench)
// with one JSON request per line on stdin and one JSON reply per line on
// stdout (see internal/benchpeer/driver.go). Logs go to stderr.
package main

import (
	"flag"
	"fmt"
	"os"

	"porthole/core-go/internal/benchpeer"
)

func main() {
	iface := flag.String("iface", "lo", "the only interface on which peers gather ICE candidates")
	flag.Parse()
	if err := benchpeer.NewDriver(*iface, os.Stdout).Run(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "porthole-bench: %v\n", err)
		os.Exit(1)
	}
}
