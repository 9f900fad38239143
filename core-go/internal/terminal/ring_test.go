package terminal

import (
	"bytes"
	"testing"
)

func TestRingKeepsTheLastBytes(t *testing.T) {
	r := NewRing(8)
	var all []byte
	for i, chunk := range []string{"abc", "defgh", "ij", "klmnopqrstu", "v", "wxyz0123"} {
		r.Write([]byte(chunk))
		all = append(all, chunk...)
		want := all
		if len(want) > 8 {
			want = want[len(want)-8:]
		}
		if got := r.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after write %d: %q, want %q", i, got, want)
		}
	}
	if r.Total() != int64(len(all)) {
		t.Fatalf("total %d, want %d", r.Total(), len(all))
	}
}
