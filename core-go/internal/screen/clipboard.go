package screen

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"porthole/core-go/internal/screen/clipboard"
	"porthole/core-go/internal/screen/x11"
)

// clipPoll is how long the clipboard loop waits for X events before it
// looks for a write from the page: the most a paste waits.
const clipPoll = 50 * time.Millisecond

// Clipboard runs one session's X clipboard connection on its own goroutine
// (Xlib: one goroutine per connection): writes from the page are handed to
// it, copies on the display go to the handler.
type Clipboard struct {
	Handler *clipboard.Handler
	cb      *x11.Clipboard
	sets    chan setReq
	stop    chan struct{}
	done    chan struct{}
}

type setReq struct {
	text []byte
	err  chan error
}

// NewClipboard builds the `clipboard` channel handler of a session: writes
// to the display with AllowInput, the display's copies to the page with
// AllowClipboardRead. With neither it opens no X connection and refuses
// every write with clipboard_not_allowed. Close ends it.
func NewClipboard(cfg Config, audit func(clipboard.Transfer), log *slog.Logger) (*Clipboard, error) {
	c := &Clipboard{sets: make(chan setReq), stop: make(chan struct{}), done: make(chan struct{})}
	if !cfg.AllowInput && !cfg.AllowClipboardRead {
		c.Handler = clipboard.NewHandler(nil, false, audit)
		close(c.done)
		return c, nil
	}
	cb, err := x11.OpenClipboard(cfg.Display)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	c.cb = cb
	var set clipboard.Setter
	if cfg.AllowInput && !cfg.InputHeld {
		set = setter{c}
	}
	c.Handler = clipboard.NewHandler(set, cfg.AllowClipboardRead, audit)
	go c.run(log)
	return c, nil
}

func (c *Clipboard) run(log *slog.Logger) {
	// x11.Clipboard runs its Xlib calls on a thread of its own (a broken
	// connection must be closed from the thread that saw it break).
	defer close(c.done)
	defer c.cb.Close()
	for {
		select {
		case <-c.stop:
			return
		case r := <-c.sets:
			r.err <- c.cb.Set(r.text)
			continue
		default:
		}
		got, err := c.cb.Poll(clipPoll, clipboard.MaxText)
		if errors.Is(err, x11.ErrDisplayLost) {
			log.Warn("display lost; clipboard stopped")
			c.failSets()
			return
		}
		if got != nil {
			c.Handler.Copied(got.Text, got.Refused, got.Size)
		}
	}
}

// failSets answers writes that arrive after the display went away.
func (c *Clipboard) failSets() {
	for {
		select {
		case <-c.stop:
			return
		case r := <-c.sets:
			r.err <- x11.ErrDisplayLost
		}
	}
}

// Close stops the loop and closes the X connection.
func (c *Clipboard) Close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done // the loop closed the X connection
	c.Handler.Flush()
}

// setter hands writes to the loop.
type setter struct{ c *Clipboard }

func (s setter) Set(text []byte) error {
	r := setReq{text: text, err: make(chan error, 1)}
	select {
	case s.c.sets <- r:
	case <-s.c.done:
		return clipboard.ErrDisplayLost
	}
	err := <-r.err
	if errors.Is(err, x11.ErrDisplayLost) {
		return clipboard.ErrDisplayLost
	}
	return err
}
