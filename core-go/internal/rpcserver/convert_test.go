package rpcserver

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"porthole/core-go/internal/terminal"
)

func TestPeerFrameToProto(t *testing.T) {
	in, err := peerFrameToProto(terminal.PeerMessage{Kind: terminal.PeerInput, Data: []byte("ls\r")})
	if err != nil || !bytes.Equal(in.GetInput(), []byte("ls\r")) || in.GetResize() != nil {
		t.Fatalf("input: %v, %v", in, err)
	}
	rs, err := peerFrameToProto(terminal.PeerMessage{Kind: terminal.PeerResize, Cols: 120, Rows: 40})
	if err != nil || rs.GetResize().GetCols() != 120 || rs.GetResize().GetRows() != 40 || rs.GetInput() != nil {
		t.Fatalf("resize: %v, %v", rs, err)
	}
}

// A kind the agent's stream has no frame for is an error, never an input
// frame: ping and close are handled by the bridge, and the zero value or a
// future kind must not reach the shell as keystrokes.
func TestPeerFrameToProtoUnknownKind(t *testing.T) {
	for _, k := range []terminal.PeerKind{0, terminal.PeerPing, terminal.PeerClose, terminal.PeerKind(99)} {
		f, err := peerFrameToProto(terminal.PeerMessage{Kind: k, Data: []byte("x")})
		if !errors.Is(err, errUnknownPeerFrame) || f != nil {
			t.Errorf("kind %d: frame %v, err %v; want errUnknownPeerFrame", k, f, err)
		}
		if c := status.Code(toStatus(err)); c != codes.Internal {
			t.Errorf("kind %d: status %v, want Internal", k, c)
		}
	}
}
