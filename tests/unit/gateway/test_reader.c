/* Unit tests for gateway/reader.c (compiled in): reads land whole and in
 * order in the bufferevent's input, the cap parks and resumes, off means
 * off, and end of stream and errors reach the event callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "../../../gateway/reader.c"

struct pair {
	struct event_base *base;
	struct bufferevent *bev;
	struct gw_reader rd;
	int peer; /* the other end, written by the test */
	int reads;
	short events; /* what the event callback got, 0 if not called */
	int event_errno;
};

static char pattern_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct pair *p = arg;
	(void)bev;
	p->reads++;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pair *p = arg;
	(void)bev;
	p->events = what;
	p->event_errno = errno;
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int fds[2];

	if (!p || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return -1;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	p->peer = fds[1];
	p->base = event_base_new();
	p->bev = bufferevent_socket_new(p->base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	if (!p->base || !p->bev)
		return -1;
	bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
	if (gw_reader_init(&p->rd, p->bev) != 0)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	gw_reader_cleanup(&p->rd);
	bufferevent_free(p->bev);
	event_base_free(p->base);
	if (p->peer >= 0)
		close(p->peer);
	free(p);
	return 0;
}

static void send_pattern(struct pair *p, size_t from, size_t len)
{
	char *buf = malloc(len);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(from + i);
	assert_int_equal(write(p->peer, buf, len), (ssize_t)len);
	free(buf);
}

/* Runs the loop until the input holds want bytes (or 100 turns pass). */
static size_t loop_until(struct pair *p, size_t want)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	for (int i = 0; i < 100 && evbuffer_get_length(in) < want; i++)
		event_base_loop(p->base, EVLOOP_NONBLOCK);
	return evbuffer_get_length(in);
}

static void assert_input_is_pattern(struct pair *p, size_t from)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	size_t len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	for (size_t i = 0; i < len; i++)
		if (data[i] != pattern_byte(from + i))
			fail_msg("byte %zu of the input is wrong", i);
}

/* The second read starts in the space left in the first read's chain and
 * goes on in a new one: both parts must be kept, in order. */
static void test_reads_fill_two_chains_in_order(void **state)
{
	struct pair *p = *state;

	gw_reader_set(&p->rd, true);
	send_pattern(p, 0, 10000);
	assert_int_equal(loop_until(p, 10000), 10000);
	assert_int_equal(p->reads, 1);
	send_pattern(p, 10000, 30000);
	assert_int_equal(loop_until(p, 40000), 40000);
	assert_true(p->reads >= 3); /* at most READ_CHUNK a read */
	assert_input_is_pattern(p, 0);
	assert_int_equal(p->events, 0);
}

static void test_cap_parks_then_resumes(void **state)
{
	struct pair *p = *state;
	struct evbuffer *in = bufferevent_get_input(p->bev);
	int reads;

	p->rd.high = 20000;
	gw_reader_set(&p->rd, true);
	send_pattern(p, 0, 50000);
	assert_int_equal(loop_until(p, 50000), 20000); /* never past the cap */
	assert_true(p->rd.parked);
	reads = p->reads;
	event_base_loop(p->base, EVLOOP_NONBLOCK);
	assert_int_equal(p->reads, reads); /* parked: nothing more read */

	gw_reader_resume(&p->rd); /* still full: stays parked */
	assert_true(p->rd.parked);
	evbuffer_drain(in, 15000);
	gw_reader_resume(&p->rd);
	assert_false(p->rd.parked);
	assert_int_equal(loop_until(p, 20000), 20000);
	assert_input_is_pattern(p, 15000);
	evbuffer_drain(in, 20000);
	gw_reader_resume(&p->rd);
	assert_int_equal(loop_until(p, 15000), 15000); /* the rest: 50000 - 35000 */
	assert_input_is_pattern(p, 35000);
}

static void test_off_reads_nothing(void **state)
{
	struct pair *p = *state;

	gw_reader_set(&p->rd, true);
	gw_reader_set(&p->rd, false);
	send_pattern(p, 0, 100);
	assert_int_equal(loop_until(p, 100), 0);
	assert_int_equal(p->reads, 0);
	gw_reader_set(&p->rd, true);
	assert_int_equal(loop_until(p, 100), 100);
	assert_int_equal(p->reads, 1);
}

static void test_eof_reaches_event_callback(void **state)
{
	struct pair *p = *state;

	gw_reader_set(&p->rd, true);
	send_pattern(p, 0, 5);
	shutdown(p->peer, SHUT_WR);
	for (int i = 0; i < 10 && !p->events; i++)
		event_base_loop(p->base, EVLOOP_NONBLOCK);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(p->bev)), 5);
	assert_int_equal(p->events, BEV_EVENT_READING | BEV_EVENT_EOF);
	assert_false(p->rd.on);
}

/* A peer that closes with our bytes unread resets the stream (AF_UNIX
 * reports ECONNRESET to the reader). */
static void test_error_reaches_event_callback(void **state)
{
	struct pair *p = *state;

	gw_reader_set(&p->rd, true);
	assert_int_equal(write(bufferevent_getfd(p->bev), "unread", 6), 6);
	close(p->peer);
	p->peer = -1;
	for (int i = 0; i < 10 && !p->events; i++)
		event_base_loop(p->base, EVLOOP_NONBLOCK);
	assert_int_equal(p->events, BEV_EVENT_READING | BEV_EVENT_ERROR);
	assert_int_equal(p->event_errno, ECONNRESET);
	assert_false(p->rd.on);
	assert_int_equal(p->reads, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reads_fill_two_chains_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_parks_then_resumes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_off_reads_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eof_reaches_event_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_reaches_event_callback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
