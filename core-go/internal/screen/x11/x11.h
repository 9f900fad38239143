// The C half of package x11: Xlib calls that must happen inside one C call
// (an X error is reported to a thread-local variable of the calling thread).
#ifndef PORTHOLE_X11_H
#define PORTHOLE_X11_H

#include <stdint.h>
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

#endif
