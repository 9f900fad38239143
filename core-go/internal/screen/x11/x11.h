// The C half of package x11: Xlib calls that must happen inside one C call
// (an X error is reported to a thread-local variable of the calling thread).
#ifndef PORTHOLE_X11_H
#define PORTHOLE_X11_H

#include <stdint.h>
#include <time.h>
#include <X11/Xlib.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>

typedef struct {
	Display *dpy;
	Window root;
	int width, height;
	XImage *img;
	XShmSegmentInfo shm;
	int shm_attached;
	int has_damage;
	int damage_event_base;
	Damage damage;
	volatile int lost; // set by the I/O error exit handler: the display is gone
} pth_capture;

typedef struct {
	Display *dpy;
	int width, height;
	volatile int lost;
} pth_input;

// Opens a display with porthole's error handlers (x11.c); NULL and err on failure.
Display *pth_open(const char *name, volatile int *lost, char *err, int errlen);
// The last X protocol error of this thread (0 for none), cleared.
int pth_take_error(void);

// Each returns NULL and fills err (at most errlen bytes) on failure.
pth_capture *pth_capture_open(const char *name, char *err, int errlen);
// 1 when the screen changed since the last call (always 1 without DAMAGE),
// 0 when not, -1 when the display is lost.
int pth_capture_damaged(pth_capture *c);
// Reads the root window into c->img; 0 on success, -1 when the display is
// lost, an X error code otherwise.
int pth_capture_grab(pth_capture *c);
void pth_capture_close(pth_capture *c);

pth_input *pth_input_open(const char *name, char *err, int errlen);
// 0 on success, -1 when the display is lost, an X error code otherwise.
int pth_input_move(pth_input *in, int x, int y);
int pth_input_button(pth_input *in, int button, int down);
int pth_input_key(pth_input *in, int keycode, int down);
// The keycode that produces keysym in the current keymap, 0 for none.
int pth_input_keycode(pth_input *in, unsigned long keysym);
void pth_input_close(pth_input *in);

// The clipboard connection (clip.c): owns CLIPBOARD and PRIMARY to offer
// text to the display's clients, and watches (XFIXES) who owns CLIPBOARD to
// fetch what they copy.
// One text being sent in pieces (INCR) to a client that pastes it.
typedef struct {
	Window requestor;
	Atom prop, type;
	char *text; // a copy: a later Set does not change a paste under way
	size_t len, off;
	int done;   // the last (empty) piece is written
	time_t started;
} pth_clip_out;

#define PTH_CLIP_MAX_OUT 8

typedef struct {
	Display *dpy;
	Window root, win;
	pth_clip_out out[PTH_CLIP_MAX_OUT];
	Atom clipboard, primary, utf8, targets, text, incr, prop, timestamp;
	int xfixes_event_base;
	char *owned;       // the text we offer, NULL when we own nothing
	size_t owned_len;
	int requested;     // what a transfer in flight waits for (clip.c: REQ_*)
	char *incr_buf;    // an INCR transfer's text so far
	size_t incr_len, incr_hint;
	int incr_over;     // the INCR transfer is over the limit: read on, keep nothing
	volatile int lost;
} pth_clip;

pth_clip *pth_clip_open(const char *name, char *err, int errlen);
// Offers text (copied) as CLIPBOARD and PRIMARY; 0 on success, -1 when the
// display is lost, an X error code otherwise (1 when another client kept
// the selection).
int pth_clip_set(pth_clip *c, const char *text, size_t len);
// Waits up to timeout_ms for X events and handles them (answers requests
// for our text, asks the new owner of CLIPBOARD for its text). Returns -1
// when the display is lost, 0 when nothing arrived, 1 when *out holds text
// copied on the display (malloc'd, *outlen bytes, the caller frees it),
// 2 when the copy was refused: *outlen is its size when known (over max),
// 0 when it could not be read (INCR or no text target).
int pth_clip_poll(pth_clip *c, int timeout_ms, size_t max, char **out, size_t *outlen);
void pth_clip_close(pth_clip *c);

#endif
