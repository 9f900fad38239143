package terminal

import "testing"

func TestWithoutQueries(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"no escape", "plain text\r\n", "plain text\r\n"},
		{"ash prompt", "~ # \x1b[6n", "~ # "},
		{"prompts between output", "a\r\n/ # \x1b[6nls\r\nb\r\n/ # \x1b[6n", "a\r\n/ # ls\r\nb\r\n/ # "},
		{"status and private cursor reports", "\x1b[5n\x1b[?6n\x1b[?15nx", "x"},
		{"device attributes", "\x1b[c\x1b[0c\x1b[>c\x1b[>0c\x1b[=cx", "x"},
		{"modes asked", "\x1b[?1049$p\x1b[4$px", "x"},
		{"version and keyboard flags", "\x1b[>q\x1b[>0q\x1b[?ux", "x"},
		{"window reports", "\x1b[18t\x1b[14;2t\x1b[21tx", "x"},
		{"colour and clipboard reads", "\x1b]11;?\x07\x1b]4;1;?\x1b\\\x1b]52;c;?\x07x", "x"},
		{"DECRQSS and XTGETTCAP", "\x1bP$qm\x1b\\\x1bP+q544e\x1b\\x", "x"},

		{"colours and modes kept", "\x1b[1;31mred\x1b[0m\x1b[?1049h\x1b[?25l", "\x1b[1;31mred\x1b[0m\x1b[?1049h\x1b[?25l"},
		{"cursor moves kept", "\x1b[H\x1b[2J\x1b[10;5H\x1b[K", "\x1b[H\x1b[2J\x1b[10;5H\x1b[K"},
		{"window ops that are not reports kept", "\x1b[8;24;80t\x1b[22;0t\x1b[23;0t", "\x1b[8;24;80t\x1b[22;0t\x1b[23;0t"},
		{"a title kept", "\x1b]0;vi notes.txt\x07\x1b]2;t\x1b\\", "\x1b]0;vi notes.txt\x07\x1b]2;t\x1b\\"},
		{"setting a colour kept", "\x1b]11;#000000\x07", "\x1b]11;#000000\x07"},
		{"other DCS kept", "\x1bPq#0;2;0;0;0\x1b\\", "\x1bPq#0;2;0;0;0\x1b\\"},
		{"ESC = and charsets kept", "\x1b=\x1b(B\x1b7\x1b8", "\x1b=\x1b(B\x1b7\x1b8"},
		{"scroll region (r, not a query) kept", "\x1b[1;23r", "\x1b[1;23r"},

		{"a query cut off at the end is kept", "~ # \x1b[6", "~ # \x1b[6"},
		{"a lone ESC at the end is kept", "x\x1b", "x\x1b"},
		{"an OSC query without its end is kept", "x\x1b]11;?", "x\x1b]11;?"},
		{"cut off at the start: only its tail, kept", "6n~ # \x1b[6n", "6n~ # "},
		{"an OSC broken by another sequence", "\x1b]11;?\x1b[6n", "\x1b]11;?"},
		{"a CSI broken by a control byte", "\x1b[6\r\n", "\x1b[6\r\n"},
		{"UTF-8 around", "é\x1b[6nü", "éü"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(WithoutQueries([]byte(c.in))); got != c.want {
				t.Errorf("WithoutQueries(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func FuzzWithoutQueries(f *testing.F) {
	for _, s := range []string{"~ # \x1b[6n", "\x1b]11;?\x07", "\x1bP$qm\x1b\\", "\x1b[1;31mx", "\x1b[", "\x1b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		in := append([]byte(nil), p...)
		out := WithoutQueries(p)
		if len(out) > len(in) {
			t.Fatalf("grew: %q -> %q", in, out)
		}
		// Only removed: what is left is the input with some of its bytes taken out, in order.
		j := 0
		for _, b := range out {
			for j < len(in) && in[j] != b {
				j++
			}
			if j == len(in) {
				t.Fatalf("not a subsequence: %q -> %q", in, out)
			}
			j++
		}
	})
}
