/* Socket reads for plain (non-TLS) bufferevents without libevent's probe.
 *
 * libevent 2.1's bufferevent read path (evbuffer_read) first asks the
 * kernel how many bytes are waiting, ioctl(FIONREAD), and then reads at most
 * 4096 bytes.  For a proxy that is one extra syscall per read: a third of
 * its syscalls and about a tenth of its CPU, which on a busy machine shows
 * in the tail latency (docs/BENCHMARKS.md, "Gateway").  Here an EV_READ
 * event of our own reads straight into the bufferevent's input buffer and
 * then runs the bufferevent's current read or event callback, as libevent
 * would have.  The bufferevent keeps everything else: output, connect,
 * callbacks, and the whole read side of TLS connections. */
#include "reader.h"

#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>

/* At most this much per read: libevent's own limit is 16 KiB, and a little
 * less lets a fresh buffer chain, header included, fit in a 16 KiB block
 * instead of being rounded up to 32. */
#define READ_CHUNK (16384 - 256)

/* Reads at most want bytes from fd onto the end of in.  Returns readv's
 * result; *err gets its errno. */
static ssize_t read_into(struct evbuffer *in, evutil_socket_t fd, size_t want, int *err)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t room = want;
	ssize_t n;
	int nv, niov = 0;

	/* a socket bufferevent freezes the end of its input for everyone but
	 * its own read path, which this stands in for */
	evbuffer_unfreeze(in, 0);
	nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (nv <= 0) {
		evbuffer_freeze(in, 0);
		*err = ENOMEM;
		return -1;
	}
	/* the space reserved may be larger than asked for: read no more */
	for (; niov < nv && room > 0; niov++) {
		iov[niov].iov_base = v[niov].iov_base;
		iov[niov].iov_len = v[niov].iov_len < room ? v[niov].iov_len : room;
		room -= iov[niov].iov_len;
	}
	n = readv(fd, iov, niov);
	*err = errno;
	if (n > 0) {
		/* commit the vectors that were filled, the last one cut short */
		size_t left = (size_t)n;
		int used = 0;
		for (; left > 0; used++) {
			if (v[used].iov_len > left)
				v[used].iov_len = left;
			left -= v[used].iov_len;
		}
		evbuffer_commit_space(in, v, used);
	}
	evbuffer_freeze(in, 0);
	return n;
}

static void reader_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_reader *rd = arg;
	struct bufferevent *bev = rd->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	bufferevent_data_cb readcb;
	bufferevent_event_cb eventcb;
	void *cbarg;
	size_t want = READ_CHUNK, len = evbuffer_get_length(in);
	ssize_t n;
	int err;
	(void)what;

	if (rd->high) {
		if (len >= rd->high) {
			/* the owner must consume first; gw_reader_resume restarts */
			event_del(rd->ev);
			rd->parked = true;
			return;
		}
		if (rd->high - len < want)
			want = rd->high - len;
	}
	n = read_into(in, fd, want, &err);
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
		return;
	bufferevent_getcb(bev, &readcb, NULL, &eventcb, &cbarg);
	if (n > 0) {
		if (readcb)
			readcb(bev, cbarg); /* may free bev and rd */
		return;
	}
	event_del(rd->ev);
	rd->on = false;
	errno = err;
	if (eventcb)
		eventcb(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), cbarg);
}

int gw_reader_init(struct gw_reader *rd, struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);

	rd->bev = bev;
	rd->on = false;
	rd->parked = false;
	if (fd < 0)
		return -1;
	rd->ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST, reader_cb, rd);
	return rd->ev ? 0 : -1;
}

void gw_reader_cleanup(struct gw_reader *rd)
{
	if (rd->ev)
		event_free(rd->ev);
	rd->ev = NULL;
	rd->on = false;
}

void gw_reader_set(struct gw_reader *rd, bool on)
{
	rd->on = on;
	rd->parked = false;
	if (!rd->ev)
		return;
	if (!on) {
		event_del(rd->ev);
		return;
	}
	if (rd->high && evbuffer_get_length(bufferevent_get_input(rd->bev)) >= rd->high) {
		event_del(rd->ev);
		rd->parked = true;
		return;
	}
	event_add(rd->ev, NULL);
}

void gw_reader_resume(struct gw_reader *rd)
{
	if (rd->parked && rd->on &&
	    (!rd->high || evbuffer_get_length(bufferevent_get_input(rd->bev)) < rd->high)) {
		rd->parked = false;
		event_add(rd->ev, NULL);
	}
}
