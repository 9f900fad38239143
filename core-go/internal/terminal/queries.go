package terminal

import (
	"bytes"
	"slices"
)

// Terminal queries in a replay.
//
// Programs ask the terminal things by writing escape sequences that the
// terminal answers on its input: busybox ash asks for the cursor position
// (ESC[6n) at every prompt, vi asks for the terminal's version at start.
// These sequences stay in the scrollback ring. Replayed to a resumed peer
// (or a viewer joining a shared terminal), they are answered a second time,
// by the new xterm, and the answers arrive on the shell's input as if typed:
// "^[[5;1R" among the first keys of whatever runs now. WithoutQueries takes
// them out of the part of a replay the terminal had already seen live; the
// rest of the replay (what the program wrote while no peer was attached)
// keeps its queries, which nobody answered yet.

// WithoutQueries removes the complete terminal query sequences from p:
//   - CSI … n (device status and cursor position reports),
//   - CSI … c with no intermediate (device attributes, primary, secondary, tertiary),
//   - CSI … $ p (DECRQM, a mode's state),
//   - CSI > … q (XTVERSION),
//   - CSI ? u (the kitty keyboard flags),
//   - CSI Ps t with Ps a report (11, 13, 14, 15, 16, 18, 19, 20, 21: window state, sizes, titles),
//   - OSC whose text ends in ";?" (colours, OSC 52 clipboard reads), ended by BEL or ST,
//   - DCS $ q and DCS + q (DECRQSS, XTGETTCAP), ended by ST.
//
// Everything else is kept byte for byte, including a sequence cut off at
// either end of p (the ring's oldest byte may fall inside one; its newest
// may be the start of one still being written). p is changed in place and
// the result shares its memory; without a query it is p itself.
func WithoutQueries(p []byte) []byte {
	i := bytes.IndexByte(p, 0x1b)
	if i < 0 {
		return p
	}
	out := p[:i]
	for i < len(p) {
		if p[i] != 0x1b {
			j := bytes.IndexByte(p[i:], 0x1b)
			if j < 0 {
				j = len(p) - i
			}
			out = append(out, p[i:i+j]...)
			i += j
			continue
		}
		n, query := escapeAt(p[i:])
		if !query {
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	return out
}

// escapeAt reads the escape sequence at the start of p (p[0] is ESC): its
// length, and whether it is a complete query. A sequence that is not
// complete, or not one it knows, has the length of its ESC alone, so that
// what follows is read as usual.
func escapeAt(p []byte) (n int, query bool) {
	if len(p) < 2 {
		return 1, false
	}
	switch p[1] {
	case '[':
		return csiAt(p)
	case ']':
		return stringAt(p, true, oscQuery)
	case 'P':
		return stringAt(p, false, dcsQuery)
	}
	return 1, false
}

// csiAt reads ESC [ parameters (0x30–0x3F) intermediates (0x20–0x2F) final (0x40–0x7E).
func csiAt(p []byte) (int, bool) {
	i := 2
	for i < len(p) && p[i] >= 0x30 && p[i] <= 0x3f {
		i++
	}
	params := p[2:i]
	for i < len(p) && p[i] >= 0x20 && p[i] <= 0x2f {
		i++
	}
	inter := p[2+len(params) : i]
	if i >= len(p) || p[i] < 0x40 || p[i] > 0x7e {
		return 1, false // cut off, or not a CSI sequence after all
	}
	return i + 1, csiQuery(params, inter, p[i])
}

// reportOps are the CSI Ps t window operations that make the terminal answer.
var reportOps = []string{"11", "13", "14", "15", "16", "18", "19", "20", "21"}

func csiQuery(params, inter []byte, final byte) bool {
	switch {
	case final == 'n' && len(inter) == 0:
		return true
	case final == 'c' && len(inter) == 0:
		return true
	case final == 'p' && string(inter) == "$":
		return true
	case final == 'q' && len(inter) == 0 && len(params) > 0 && params[0] == '>':
		return true
	case final == 'u' && len(inter) == 0 && string(params) == "?":
		return true
	case final == 't' && len(inter) == 0:
		op, _, _ := bytes.Cut(params, []byte(";"))
		return slices.Contains(reportOps, string(op))
	}
	return false
}

// stringAt reads a control string, ESC ] or ESC P, up to its ST (ESC \) or,
// when bel, a BEL. Cut off (no terminator in p): not complete.
func stringAt(p []byte, bel bool, query func(text []byte) bool) (int, bool) {
	for i := 2; i < len(p); i++ {
		switch {
		case bel && p[i] == 0x07:
			return i + 1, query(p[2:i])
		case p[i] == 0x1b:
			if i+1 < len(p) && p[i+1] == '\\' {
				return i + 2, query(p[2:i])
			}
			return 1, false // another sequence starts: this one never ended
		}
	}
	return 1, false
}

func oscQuery(text []byte) bool { return bytes.HasSuffix(text, []byte(";?")) }

func dcsQuery(text []byte) bool {
	return bytes.HasPrefix(text, []byte("$q")) || bytes.HasPrefix(text, []byte("+q"))
}
