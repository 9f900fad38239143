package screen

import (
	"log/slog"
	"testing"

	"porthole/core-go/internal/screen/clipboard"
	"porthole/core-go/internal/screen/xvfbtest"
)

func TestClipboardCloseAfterDisplayGone(t *testing.T) {
	d, kill := xvfbtest.StartKillable(t, 640, 480)
	cfg, _ := Config{Display: d, AllowInput: true}.WithDefaults()
	c, err := NewClipboard(cfg, func(clipboard.Transfer) {}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	kill()
	c.Close()
}
