/* tz.h - UTC offsets of IANA time zones ("America/Sao_Paulo"), read from
 * the system's compiled zone files (TZif, RFC 8536) without touching the
 * process-wide TZ, so worker threads can use any zone at once.
 *
 * Times after the file's last transition follow the rule of its footer,
 * the POSIX TZ string of a version 2+ file (RFC 8536 section 3.3, e.g.
 * "EST5EDT,M3.2.0,M11.1.0"): the fat files Debian ships list transitions
 * up to 2037 only, and slim ones stop at the last change of the rules.
 * Without a footer (version 1) the last offset holds.
 */
#ifndef B4_TZ_H
#define B4_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A day of the footer's rule at `time` seconds of local time (-167 h to
 * 167 h): the n-th day of the year without February 29 (kind 'J', 1..365),
 * counting it (kind 'N', 0..365), or the week-th weekday of month (kind
 * 'M'; week 5 is the last, weekday 0 is Sunday). */
struct b4_tz_rule_date {
	char kind;
	int16_t day;
	int8_t month, week, weekday;
	int32_t time;
};

/* A loaded zone.  The caller owns the storage; b4_tz_cleanup frees the
 * tables.  Read-only after b4_tz_load. */
struct b4_tz {
	int64_t *transitions; /* Unix seconds, ascending */
	int32_t *offsets;     /* offsets[i]: UTC offset (s) from transitions[i] on */
	size_t ntransitions;
	int32_t initial_offset; /* before the first transition */
	/* the footer's rule, from the last transition on: std_offset all
	 * year, or dst_offset from dst_start (standard time) to dst_end
	 * (daylight time) */
	bool has_rule, rule_has_dst;
	int32_t std_offset, dst_offset;
	struct b4_tz_rule_date dst_start, dst_end;
};

/* True when name looks like a zone name: 1..64 of [A-Za-z0-9_+-/], no
 * leading '/', no "..".  Says nothing about whether the zone exists. */
bool b4_tz_name_is_valid(const char *name);

/* Loads zone `name` from $TZDIR or /usr/share/zoneinfo.  Returns 0, or -1
 * (bad name, no such zone, malformed file) with tz zeroed. */
int b4_tz_load(struct b4_tz *tz, const char *name);

/* Sets tz's rule after its last transition from a POSIX TZ string with
 * RFC 8536's extensions ("<-03>3", "AEST-10AEDT,M10.1.0,M4.1.0/3").
 * Returns 0, or -1 when it is malformed, with tz unchanged. */
int b4_tz_set_rule(struct b4_tz *tz, const char *rule, size_t len);

/* The UTC offset in seconds at Unix time t (local = t + offset). */
int32_t b4_tz_offset(const struct b4_tz *tz, int64_t t);

/* The Unix time the civil date y-m-d starts: its local midnight, the
 * first one when clocks went back over it, or the change that skipped it
 * (00:00 became 01:00). */
int64_t b4_tz_local_midnight(const struct b4_tz *tz, int year, int month, int day);

/* Frees the tables; accepts a zeroed or cleaned tz. */
void b4_tz_cleanup(struct b4_tz *tz);

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian), and
 * back. */
int64_t b4_tz_days_from_civil(int year, int month, int day);
void b4_tz_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
