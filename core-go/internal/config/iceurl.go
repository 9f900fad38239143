package config

import (
	"errors"
	"net/url"
	"strings"
)

// errBracketNoPort refuses what pion/stun's ParseURI (v4.0.1) cannot: an
// IPv6 literal followed by anything but ":port" ("turn:[::1]3478"). It
// answers "missing port", ParseURI appends a default port and retries, the
// answer stays the same and the recursion ends only in a fatal stack
// overflow that takes every session down. Found by FuzzValidateICEURL.
var errBracketNoPort = errors.New("an IPv6 address in brackets must be followed by :port or nothing")

// checkBracketedHost returns errBracketNoPort for the URLs above, nil for
// everything else (ParseURI then decides).
func checkBracketedHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(u.Opaque, "[") {
		return nil
	}
	end := strings.IndexByte(u.Opaque, ']')
	if end >= 0 && end+1 < len(u.Opaque) && u.Opaque[end+1] != ':' {
		return errBracketNoPort
	}
	return nil
}
