#include "x11.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>

// The last X protocol error of this thread; Xlib calls the error handler on
// the thread that reads the reply, which is the one inside our C call.
static __thread int pth_x_error;

static int pth_error_handler(Display *dpy, XErrorEvent *ev) {
	(void)dpy;
	pth_x_error = ev->error_code;
	return 0;
}

// Xlib's default I/O error handler prints and exits the process; ours stays
// quiet and the per-display exit handler below marks the display lost, so a
// vanished X server ends its screen sessions, not the sidecar.
static int pth_io_error_handler(Display *dpy) {
	(void)dpy;
	return 0;
}

static void pth_io_exit_handler(Display *dpy, void *flag) {
	(void)dpy;
	*(volatile int *)flag = 1;
}

static void pth_install_handlers(void) {
	static int done;
	if (!__atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST)) {
		XSetErrorHandler(pth_error_handler);
		XSetIOErrorHandler(pth_io_error_handler);
	}
}

int pth_take_error(void) {
	int e = pth_x_error;
	pth_x_error = 0;
	return e;
}

Display *pth_open(const char *name, volatile int *lost, char *err, int errlen) {
	pth_install_handlers();
	Display *dpy = XOpenDisplay(name);
	if (!dpy) {
		snprintf(err, errlen, "cannot open X display %s", name);
		return NULL;
	}
	XSetIOErrorExitHandler(dpy, pth_io_exit_handler, (void *)lost);
	return dpy;
}

pth_capture *pth_capture_open(const char *name, char *err, int errlen) {
	pth_capture *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->shm.shmid = -1;
	c->dpy = pth_open(name, &c->lost, err, errlen);
	if (!c->dpy) {
		free(c);
		return NULL;
	}
	int scr = DefaultScreen(c->dpy);
	c->root = RootWindow(c->dpy, scr);
	c->width = DisplayWidth(c->dpy, scr);
	c->height = DisplayHeight(c->dpy, scr);
	if (!XShmQueryExtension(c->dpy)) {
		snprintf(err, errlen, "X display %s has no MIT-SHM extension (is it remote?)", name);
		goto fail;
	}
	Visual *vis = DefaultVisual(c->dpy, scr);
	int depth = DefaultDepth(c->dpy, scr);
	c->img = XShmCreateImage(c->dpy, vis, depth, ZPixmap, NULL, &c->shm, c->width, c->height);
	if (!c->img) {
		snprintf(err, errlen, "XShmCreateImage failed");
		goto fail;
	}
	// The converter reads memory as B,G,R,X (libyuv "ARGB"): 32 bits per
	// pixel, red in the high byte, little-endian.
	if (c->img->bits_per_pixel != 32 || c->img->red_mask != 0xff0000 || c->img->green_mask != 0xff00 ||
	    c->img->blue_mask != 0xff || c->img->byte_order != LSBFirst) {
		snprintf(err, errlen, "unsupported pixel format (depth %d, %d bpp): want 24-bit TrueColor", depth,
		         c->img->bits_per_pixel);
		goto fail;
	}
	c->shm.shmid = shmget(IPC_PRIVATE, (size_t)c->img->bytes_per_line * c->img->height, IPC_CREAT | 0600);
	if (c->shm.shmid < 0) {
		snprintf(err, errlen, "shmget failed");
		goto fail;
	}
	c->shm.shmaddr = c->img->data = shmat(c->shm.shmid, NULL, 0);
	if (c->shm.shmaddr == (void *)-1) {
		c->shm.shmaddr = c->img->data = NULL;
		snprintf(err, errlen, "shmat failed");
		goto fail;
	}
	c->shm.readOnly = False;
	pth_x_error = 0;
	if (!XShmAttach(c->dpy, &c->shm) || (XSync(c->dpy, False), pth_x_error) || c->lost) {
		snprintf(err, errlen, "XShmAttach failed (X error %d)", pth_x_error);
		goto fail;
	}
	c->shm_attached = 1;
	// Marked for removal now: the segment goes away when both sides detach,
	// even if we crash.
	shmctl(c->shm.shmid, IPC_RMID, NULL);

	int damage_err;
	if (XDamageQueryExtension(c->dpy, &c->damage_event_base, &damage_err)) {
		c->damage = XDamageCreate(c->dpy, c->root, XDamageReportNonEmpty);
		c->has_damage = 1;
		// A new damage object may report the window as damaged at once;
		// sync so that notify is queued now and the first Changed (whose
		// frame is grabbed anyway) consumes it.
		XSync(c->dpy, False);
	}
	return c;
fail:
	pth_capture_close(c);
	return NULL;
}

int pth_capture_damaged(pth_capture *c) {
	if (c->lost) return -1;
	if (!c->has_damage) return 1;
	int damaged = 0;
	while (!c->lost && XPending(c->dpy)) {
		XEvent ev;
		XNextEvent(c->dpy, &ev);
		if (ev.type == c->damage_event_base + XDamageNotify) damaged = 1;
	}
	if (c->lost) return -1;
	if (damaged) {
		// Subtracted before the grab that follows: a change drawn after this
		// point raises a new notify, so none is missed.
		XDamageSubtract(c->dpy, c->damage, None, None);
		XFlush(c->dpy);
	}
	return damaged;
}

int pth_capture_grab(pth_capture *c) {
	if (c->lost) return -1;
	pth_x_error = 0;
	if (!XShmGetImage(c->dpy, c->root, c->img, 0, 0, AllPlanes)) {
		return c->lost ? -1 : (pth_x_error ? pth_x_error : 255);
	}
	return c->lost ? -1 : pth_x_error;
}

void pth_capture_close(pth_capture *c) {
	if (!c) return;
	if (c->dpy) {
		if (!c->lost) {
			if (c->has_damage) XDamageDestroy(c->dpy, c->damage);
			if (c->shm_attached) XShmDetach(c->dpy, &c->shm);
			XSync(c->dpy, False);
		}
	}
	if (c->img) {
		c->img->data = NULL; // shm memory, not malloc'd
		XDestroyImage(c->img);
	}
	if (c->shm.shmaddr) shmdt(c->shm.shmaddr);
	if (c->shm.shmid >= 0 && !c->shm_attached) shmctl(c->shm.shmid, IPC_RMID, NULL);
	if (c->dpy) XCloseDisplay(c->dpy);
	free(c);
}

pth_input *pth_input_open(const char *name, char *err, int errlen) {
	pth_input *in = calloc(1, sizeof *in);
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->dpy = pth_open(name, &in->lost, err, errlen);
	if (!in->dpy) {
		free(in);
		return NULL;
	}
	int ev, er, major, minor;
	if (!XTestQueryExtension(in->dpy, &ev, &er, &major, &minor)) {
		snprintf(err, errlen, "X display %s has no XTEST extension", name);
		XCloseDisplay(in->dpy);
		free(in);
		return NULL;
	}
	int scr = DefaultScreen(in->dpy);
	in->width = DisplayWidth(in->dpy, scr);
	in->height = DisplayHeight(in->dpy, scr);
	return in;
}

static int pth_input_sync(pth_input *in) {
	XSync(in->dpy, False);
	return in->lost ? -1 : pth_x_error;
}

int pth_input_move(pth_input *in, int x, int y) {
	if (in->lost) return -1;
	pth_x_error = 0;
	XTestFakeMotionEvent(in->dpy, -1, x, y, CurrentTime);
	return pth_input_sync(in);
}

int pth_input_button(pth_input *in, int button, int down) {
	if (in->lost) return -1;
	pth_x_error = 0;
	XTestFakeButtonEvent(in->dpy, (unsigned)button, down ? True : False, CurrentTime);
	return pth_input_sync(in);
}

int pth_input_key(pth_input *in, int keycode, int down) {
	if (in->lost) return -1;
	pth_x_error = 0;
	XTestFakeKeyEvent(in->dpy, (unsigned)keycode, down ? True : False, CurrentTime);
	return pth_input_sync(in);
}

int pth_input_keycode(pth_input *in, unsigned long keysym) {
	if (in->lost) return 0;
	return XKeysymToKeycode(in->dpy, (KeySym)keysym);
}

void pth_input_close(pth_input *in) {
	if (!in) return;
	if (in->dpy) XCloseDisplay(in->dpy);
	free(in);
}
