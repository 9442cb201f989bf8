/* tz.h - UTC offsets of IANA time zones ("America/Sao_Paulo"), read from
 * the system's compiled zone files (TZif, RFC 8536) without touching the
 * process-wide TZ, so worker threads can use any zone at once.
 *
 * Times after the file's last transition keep its last offset: the fat
 * files Debian ships list transitions up to 2037, and Brazil has had no
 * daylight saving time since 2019.
 */
#ifndef B4_TZ_H
#define B4_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A loaded zone.  The caller owns the storage; b4_tz_cleanup frees the
 * tables.  Read-only after b4_tz_load. */
struct b4_tz {
	int64_t *transitions; /* Unix seconds, ascending */
	int32_t *offsets;     /* offsets[i]: UTC offset (s) from transitions[i] on */
	size_t ntransitions;
	int32_t initial_offset; /* before the first transition */
};

/* True when name looks like a zone name: 1..64 of [A-Za-z0-9_+-/], no
 * leading '/', no "..".  Says nothing about whether the zone exists. */
bool b4_tz_name_is_valid(const char *name);

/* Loads zone `name` from $TZDIR or /usr/share/zoneinfo.  Returns 0, or -1
 * (bad name, no such zone, malformed file) with tz zeroed. */
int b4_tz_load(struct b4_tz *tz, const char *name);

/* The UTC offset in seconds at Unix time t (local = t + offset). */
int32_t b4_tz_offset(const struct b4_tz *tz, int64_t t);

/* The Unix time of local midnight starting the civil date y-m-d. */
int64_t b4_tz_local_midnight(const struct b4_tz *tz, int year, int month, int day);

/* Frees the tables; accepts a zeroed or cleaned tz. */
void b4_tz_cleanup(struct b4_tz *tz);

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian), and
 * back. */
int64_t b4_tz_days_from_civil(int year, int month, int day);
void b4_tz_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
