// The clipboard half of package x11: the X selection protocol (ICCCM 2) for
// text. Writes own CLIPBOARD and PRIMARY and answer SelectionRequest; reads
// follow XFIXES selection-owner notifications of CLIPBOARD and convert the
// new owner's selection to UTF8_STRING (else STRING), INCR included.
#include "x11.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <X11/Xatom.h>
#include <X11/extensions/Xfixes.h>

// What a ConvertSelection in flight asked for.
enum { REQ_NONE, REQ_UTF8, REQ_STRING, REQ_INCR };

pth_clip *pth_clip_open(const char *name, char *err, int errlen) {
	pth_clip *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->dpy = pth_open(name, &c->lost, err, errlen);
	if (!c->dpy) {
		free(c);
		return NULL;
	}
	int ev, er;
	if (!XFixesQueryExtension(c->dpy, &ev, &er)) {
		snprintf(err, errlen, "X display %s has no XFIXES extension", name);
		XCloseDisplay(c->dpy);
		free(c);
		return NULL;
	}
	c->xfixes_event_base = ev;
	c->root = DefaultRootWindow(c->dpy);
	// An unmapped 1x1 window: the owner of our selections and the place the
	// owners of others put their text.
	c->win = XCreateSimpleWindow(c->dpy, c->root, 0, 0, 1, 1, 0, 0, 0);
	XSelectInput(c->dpy, c->win, PropertyChangeMask);
	c->clipboard = XInternAtom(c->dpy, "CLIPBOARD", False);
	c->primary = XA_PRIMARY;
	c->utf8 = XInternAtom(c->dpy, "UTF8_STRING", False);
	c->targets = XInternAtom(c->dpy, "TARGETS", False);
	c->text = XInternAtom(c->dpy, "TEXT", False);
	c->incr = XInternAtom(c->dpy, "INCR", False);
	c->timestamp = XInternAtom(c->dpy, "TIMESTAMP", False);
	c->prop = XInternAtom(c->dpy, "PORTHOLE_CLIPBOARD", False);
	XFixesSelectSelectionInput(c->dpy, c->root, c->clipboard, XFixesSetSelectionOwnerNotifyMask);
	XSync(c->dpy, False);
	if (c->lost) {
		snprintf(err, errlen, "X display %s went away", name);
		pth_clip_close(c);
		return NULL;
	}
	return c;
}

int pth_clip_set(pth_clip *c, const char *text, size_t len) {
	if (c->lost) return -1;
	char *copy = malloc(len ? len : 1);
	if (!copy) return 255;
	memcpy(copy, text, len);
	free(c->owned);
	c->owned = copy;
	c->owned_len = len;
	pth_take_error();
	XSetSelectionOwner(c->dpy, c->clipboard, c->win, CurrentTime);
	XSetSelectionOwner(c->dpy, c->primary, c->win, CurrentTime);
	XSync(c->dpy, False);
	if (c->lost) return -1;
	int e = pth_take_error();
	if (e) return e;
	return XGetSelectionOwner(c->dpy, c->clipboard) == c->win ? 0 : 1;
}

// INCR_CHUNK is the most text we put in one property: larger texts go by
// INCR, as ICCCM asks (Tk refuses a property over its own limit).
#define INCR_CHUNK (64 * 1024)

// INCR_STALE: a transfer whose requestor stopped taking pieces (it exited)
// for this long frees its slot for a new one.
#define INCR_STALE 30

// out_start begins an INCR transfer; 0 when all slots are busy.
static int out_start(pth_clip *c, Window w, Atom prop, Atom type) {
	time_t now = time(NULL);
	for (int i = 0; i < PTH_CLIP_MAX_OUT; i++) {
		pth_clip_out *o = &c->out[i];
		if (o->text && now - o->started < INCR_STALE) continue;
		free(o->text);
		o->started = now;
		o->text = malloc(c->owned_len);
		if (!o->text) return 0;
		memcpy(o->text, c->owned, c->owned_len);
		o->len = c->owned_len;
		o->off = 0;
		o->done = 0;
		o->requestor = w;
		o->prop = prop;
		o->type = type;
		// The requestor deleting the property asks for the next piece.
		XSelectInput(c->dpy, w, PropertyChangeMask);
		long size = (long)o->len;
		XChangeProperty(c->dpy, w, prop, c->incr, 32, PropModeReplace, (unsigned char *)&size, 1);
		return 1;
	}
	return 0;
}

// out_next writes the next piece of the transfer whose property was deleted.
static void out_next(pth_clip *c, XPropertyEvent *e) {
	for (int i = 0; i < PTH_CLIP_MAX_OUT; i++) {
		pth_clip_out *o = &c->out[i];
		if (!o->text || o->requestor != e->window || o->prop != e->atom) continue;
		if (o->done) { // the empty piece was taken: finished
			XSelectInput(c->dpy, o->requestor, NoEventMask);
			free(o->text);
			memset(o, 0, sizeof *o);
			return;
		}
		size_t n = o->len - o->off;
		if (n > INCR_CHUNK) n = INCR_CHUNK;
		XChangeProperty(c->dpy, o->requestor, o->prop, o->type, 8, PropModeReplace, (unsigned char *)o->text + o->off,
		                (int)n);
		o->off += n;
		o->done = n == 0;
		o->started = time(NULL); // alive: the requestor took a piece
		XFlush(c->dpy);
		return;
	}
}

// answer serves one SelectionRequest for our text.
static void answer(pth_clip *c, XSelectionRequestEvent *r) {
	XSelectionEvent n = {0};
	n.type = SelectionNotify;
	n.requestor = r->requestor;
	n.selection = r->selection;
	n.target = r->target;
	n.time = r->time;
	Atom prop = r->property != None ? r->property : r->target; // obsolete clients
	n.property = None;
	if (r->owner == c->win && c->owned && (r->selection == c->clipboard || r->selection == c->primary)) {
		if (r->target == c->targets) {
			Atom t[] = {c->targets, c->timestamp, c->utf8, XA_STRING, c->text};
			XChangeProperty(c->dpy, r->requestor, prop, XA_ATOM, 32, PropModeReplace, (unsigned char *)t,
			                (int)(sizeof t / sizeof t[0]));
			n.property = prop;
		} else if (r->target == c->timestamp) {
			long t = CurrentTime;
			XChangeProperty(c->dpy, r->requestor, prop, XA_INTEGER, 32, PropModeReplace, (unsigned char *)&t, 1);
			n.property = prop;
		} else if (r->target == c->utf8 || r->target == XA_STRING || r->target == c->text) {
			// STRING is Latin-1 by the book; UTF-8 is what every client here
			// sends and expects, so all three get the same bytes.
			Atom type = r->target == XA_STRING ? XA_STRING : c->utf8;
			if (c->owned_len <= INCR_CHUNK) {
				XChangeProperty(c->dpy, r->requestor, prop, type, 8, PropModeReplace, (unsigned char *)c->owned,
				                (int)c->owned_len);
				n.property = prop;
			} else if (out_start(c, r->requestor, prop, type)) {
				n.property = prop;
			}
		}
	}
	XSendEvent(c->dpy, r->requestor, False, NoEventMask, (XEvent *)&n);
	XFlush(c->dpy);
}

// incr_reset drops a transfer in progress.
static void incr_reset(pth_clip *c) {
	free(c->incr_buf);
	c->incr_buf = NULL;
	c->incr_len = 0;
	c->incr_over = 0;
}

// read_prop reads and deletes our property: the text, or INCR. Returns 1
// with *out on text, 2 when refused (*outlen its size, or 0 unreadable),
// 0 when an INCR transfer started.
static int read_prop(pth_clip *c, size_t max, char **out, size_t *outlen) {
	Atom type;
	int fmt;
	unsigned long n, after;
	unsigned char *data = NULL;
	// Up to max+1 bytes: one more than allowed tells an oversized text.
	if (XGetWindowProperty(c->dpy, c->win, c->prop, 0, (long)(max / 4 + 1), True, AnyPropertyType, &type, &fmt, &n,
	                       &after, &data) != Success) {
		*outlen = 0;
		return 2;
	}
	if (type == c->incr) {
		size_t hint = (data && n >= 1 && fmt == 32) ? (size_t)((unsigned long *)data)[0] : 0;
		XFree(data);
		incr_reset(c);
		c->requested = REQ_INCR;
		c->incr_over = hint > max;
		c->incr_hint = hint;
		return 0;
	}
	size_t len = fmt == 8 ? n : 0;
	if (fmt != 8 || (type != c->utf8 && type != XA_STRING && type != c->text)) {
		XFree(data);
		*outlen = 0;
		return 2;
	}
	if (len + after > max) {
		XFree(data);
		*outlen = len + after;
		return 2;
	}
	*out = malloc(len ? len : 1);
	if (!*out) {
		XFree(data);
		*outlen = 0;
		return 2;
	}
	memcpy(*out, data, len);
	*outlen = len;
	XFree(data);
	return 1;
}

// incr_chunk takes one INCR chunk; like read_prop, -1 when more follow.
static int incr_chunk(pth_clip *c, size_t max, char **out, size_t *outlen) {
	Atom type;
	int fmt;
	unsigned long n, after;
	unsigned char *data = NULL;
	if (XGetWindowProperty(c->dpy, c->win, c->prop, 0, 0x7fffffff / 4, True, AnyPropertyType, &type, &fmt, &n, &after,
	                       &data) != Success) {
		c->requested = REQ_NONE;
		incr_reset(c);
		*outlen = 0;
		return 2;
	}
	size_t len = fmt == 8 ? n : 0;
	if (len == 0) { // the end
		XFree(data);
		c->requested = REQ_NONE;
		if (c->incr_over) {
			*outlen = c->incr_len > c->incr_hint ? c->incr_len : c->incr_hint;
			incr_reset(c);
			return 2;
		}
		*out = c->incr_buf ? c->incr_buf : malloc(1);
		*outlen = c->incr_len;
		c->incr_buf = NULL;
		c->incr_len = 0;
		return *out ? 1 : 2;
	}
	if (!c->incr_over && c->incr_len + len <= max) {
		char *b = realloc(c->incr_buf, c->incr_len + len);
		if (b) {
			memcpy(b + c->incr_len, data, len);
			c->incr_buf = b;
		} else {
			c->incr_over = 1;
		}
	} else {
		c->incr_over = 1; // keep reading (the owner waits for our deletes) but keep nothing
		free(c->incr_buf);
		c->incr_buf = NULL;
	}
	c->incr_len += len;
	XFree(data);
	return -1;
}

int pth_clip_poll(pth_clip *c, int timeout_ms, size_t max, char **out, size_t *outlen) {
	if (c->lost) return -1;
	if (!XPending(c->dpy)) {
		struct pollfd p = {.fd = ConnectionNumber(c->dpy), .events = POLLIN};
		poll(&p, 1, timeout_ms);
	}
	while (!c->lost && XPending(c->dpy)) {
		XEvent ev;
		XNextEvent(c->dpy, &ev);
		if (ev.type == c->xfixes_event_base + XFixesSelectionNotify) {
			XFixesSelectionNotifyEvent *e = (XFixesSelectionNotifyEvent *)&ev;
			if (e->selection != c->clipboard || e->owner == c->win || e->owner == None) continue;
			incr_reset(c);
			XDeleteProperty(c->dpy, c->win, c->prop);
			XConvertSelection(c->dpy, c->clipboard, c->utf8, c->prop, c->win, e->selection_timestamp);
			XFlush(c->dpy);
			c->requested = REQ_UTF8;
		} else if (ev.type == SelectionRequest) {
			answer(c, &ev.xselectionrequest);
		} else if (ev.type == SelectionNotify && ev.xselection.requestor == c->win) {
			XSelectionEvent *s = &ev.xselection;
			if (s->property == None) {
				if (c->requested == REQ_UTF8) { // an older client: try STRING
					XConvertSelection(c->dpy, c->clipboard, XA_STRING, c->prop, c->win, s->time);
					XFlush(c->dpy);
					c->requested = REQ_STRING;
				} else {
					c->requested = REQ_NONE; // no text (an image, say): nothing to pass on
				}
				continue;
			}
			if (c->requested != REQ_UTF8 && c->requested != REQ_STRING) continue;
			c->requested = REQ_NONE;
			int rc = read_prop(c, max, out, outlen);
			XFlush(c->dpy); // the delete: an INCR owner starts sending on it
			if (rc) return c->lost ? -1 : rc;
		} else if (ev.type == PropertyNotify && ev.xproperty.window != c->win &&
		           ev.xproperty.state == PropertyDelete) {
			out_next(c, &ev.xproperty);
		} else if (ev.type == PropertyNotify && ev.xproperty.window == c->win && ev.xproperty.atom == c->prop &&
		           ev.xproperty.state == PropertyNewValue && c->requested == REQ_INCR) {
			int rc = incr_chunk(c, max, out, outlen);
			XFlush(c->dpy);
			if (rc > 0) return c->lost ? -1 : rc;
		}
	}
	return c->lost ? -1 : 0;
}

void pth_clip_close(pth_clip *c) {
	if (!c) return;
	if (c->dpy) {
		if (!c->lost) XDestroyWindow(c->dpy, c->win);
		XCloseDisplay(c->dpy);
	}
	free(c->owned);
	free(c->incr_buf);
	for (int i = 0; i < PTH_CLIP_MAX_OUT; i++) free(c->out[i].text);
	free(c);
}
