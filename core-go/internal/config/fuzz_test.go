package config

import (
	"testing"

	"github.com/pion/stun/v4"
)

// FuzzValidateICEURL: the per-session ICE servers of CreateSession arrive
// over gRPC and go through ValidateICEURL. Nothing panics; an accepted URL
// is a STUN or TURN URI, and TURN only with a username and credential; a
// refusal never repeats the credential (refusals are logged).
func FuzzValidateICEURL(f *testing.F) {
	f.Add("stun:stun.example.org:3478", "", "")
	f.Add("turn:turn.example.org:3478?transport=tcp", "user", "s3cret-credential")
	f.Add("turns:[2001:db8::1]:5349", "1700000000:alice", "c2VjcmV0")
	f.Add("turn:s3cret-credential@host", "", "s3cret-credential")
	f.Fuzz(func(t *testing.T, raw, username, credential string) {
		err := ValidateICEURL(raw, username, credential)
		if err != nil {
			// The refusal may quote the URL (where the caller put it) but
			// must not depend on the credential's value: the same input
			// with another credential of the same emptiness is refused
			// with the same words. (A substring check would flag a
			// credential such as "TURN" that the fixed text contains.)
			other := ""
			if credential != "" {
				other = "\x00other-credential\x00"
				if credential == other {
					other += "!"
				}
			}
			err2 := ValidateICEURL(raw, username, other)
			if err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("refusal depends on the credential: %v vs %v", err, err2)
			}
			return
		}
		u, perr := stun.ParseURI(raw)
		if perr != nil {
			t.Fatalf("accepted %q that does not parse: %v", raw, perr)
		}
		turn := u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS
		if turn && (username == "" || credential == "") {
			t.Fatalf("TURN %q accepted without credentials", raw)
		}
		if !turn && u.Scheme != stun.SchemeTypeSTUN && u.Scheme != stun.SchemeTypeSTUNS {
			t.Fatalf("scheme %v accepted", u.Scheme)
		}
	})
}
