/* Plain-socket reads into a bufferevent's input without libevent's
 * per-read ioctl(FIONREAD) (see reader.c). */
#ifndef GW_READER_H
#define GW_READER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* Reading state of one socket bufferevent whose own EV_READ stays off.
 * Embedded in its owner; the owner must call gw_reader_cleanup before
 * freeing the bufferevent (which closes the socket). */
struct gw_reader {
	struct bufferevent *bev;
	struct event *ev;
	size_t high; /* stop reading while the input holds this much; 0: no cap */
	bool on;     /* the owner wants reading */
	bool parked; /* stopped at the cap, waiting for gw_reader_resume */
};

/* Sets up reading of bev's connected socket (reading starts off).  Returns
 * -1 if bev has no socket yet or memory ran out. */
int gw_reader_init(struct gw_reader *rd, struct bufferevent *bev);
/* Frees the event; rd may be initialised again.  Safe on a zeroed rd. */
void gw_reader_cleanup(struct gw_reader *rd);
/* Turns reading on or off, like bufferevent_enable/disable(EV_READ).  Each
 * read runs bev's read callback; end of stream or an error turns reading
 * off and runs its event callback with BEV_EVENT_READING|EOF or ERROR.  A
 * no-op before gw_reader_init succeeded. */
void gw_reader_set(struct gw_reader *rd, bool on);
/* Restarts reading that stopped at the cap once the owner has consumed
 * input below it; cheap, call after each callback. */
void gw_reader_resume(struct gw_reader *rd);

#endif
