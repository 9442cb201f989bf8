/* tz.c - TZif reader and offset lookup; see b4/tz.h. */
#include "b4/tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (256 * 1024)

bool b4_tz_name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") ==
	       n;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	size_t isut, isstd, leap, time, type, chars;
};

/* Reads a header at p (44 bytes); -1 when it is not TZif. */
static int header_read(const unsigned char *p, size_t left, struct tzif_counts *c)
{
	if (left < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->type == 0 || c->type > 256 || c->time > 10000 || c->leap > 1000 || c->chars > 1000 ||
	    c->isut > 256 || c->isstd > 256)
		return -1;
	return 0;
}

/* Size of a data block whose transition times take tsize bytes. */
static size_t block_size(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) +
	       c->isstd + c->isut;
}

/* Fills tz from the data block at p (times of tsize bytes). */
static int block_read(struct b4_tz *tz, const unsigned char *p, const struct tzif_counts *c,
		      size_t tsize)
{
	const unsigned char *times = p, *idx = p + c->time * tsize, *types = idx + c->time;

	tz->transitions = calloc(c->time ? c->time : 1, sizeof(*tz->transitions));
	tz->offsets = calloc(c->time ? c->time : 1, sizeof(*tz->offsets));
	if (!tz->transitions || !tz->offsets)
		return -1;
	tz->ntransitions = c->time;
	/* RFC 8536: local time before the first transition is type 0 */
	tz->initial_offset = (int32_t)be32(types);
	for (size_t i = 0; i < c->time; i++) {
		if (idx[i] >= c->type)
			return -1;
		tz->transitions[i] =
		    tsize == 8 ? be64(times + i * 8) : (int64_t)(int32_t)be32(times + i * 4);
		tz->offsets[i] = (int32_t)be32(types + idx[i] * 6);
		if (i > 0 && tz->transitions[i] <= tz->transitions[i - 1])
			return -1;
	}
	return 0;
}

static int parse(struct b4_tz *tz, const unsigned char *data, size_t len)
{
	struct tzif_counts c;
	size_t v1, footer;

	if (header_read(data, len, &c) < 0)
		return -1;
	v1 = 44 + block_size(&c, 4);
	if (v1 > len)
		return -1;
	if (data[4] == '\0')
		return block_read(tz, data + 44, &c, 4);
	/* version 2+: a second header with 64-bit times follows, then the
	 * footer, "\n" rule "\n" */
	if (header_read(data + v1, len - v1, &c) < 0 || v1 + 44 + block_size(&c, 8) > len)
		return -1;
	if (block_read(tz, data + v1 + 44, &c, 8) < 0)
		return -1;
	footer = v1 + 44 + block_size(&c, 8);
	if (footer < len && data[footer] == '\n') {
		const unsigned char *rule = data + footer + 1;
		const unsigned char *end = memchr(rule, '\n', len - footer - 1);

		/* an empty rule says nothing; a malformed one is left unused,
		 * and the last offset holds as for a version 1 file */
		if (end && end > rule)
			(void)b4_tz_set_rule(tz, (const char *)rule, (size_t)(end - rule));
	}
	return 0;
}

int b4_tz_load(struct b4_tz *tz, const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *data;
	size_t len;
	FILE *f;
	int rc;

	memset(tz, 0, sizeof(*tz));
	if (!b4_tz_name_is_valid(name))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	if (!(f = fopen(path, "rb")))
		return -1;
	data = malloc(TZ_FILE_MAX);
	len = data ? fread(data, 1, TZ_FILE_MAX, f) : 0;
	fclose(f);
	rc = data && len < TZ_FILE_MAX ? parse(tz, data, len) : -1;
	free(data);
	if (rc < 0)
		b4_tz_cleanup(tz);
	return rc;
}

/* The POSIX TZ string's parts, each parser advancing *p within [*p, end)
 * and returning -1 on anything else. */

/* A zone abbreviation: three or more letters, or <...> of letters, digits,
 * '+' and '-'. */
static int rule_name(const char **p, const char *end)
{
	const char *s = *p;

	if (s < end && *s == '<') {
		for (s++; s < end && *s != '>'; s++)
			if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-')
				return -1;
		if (s >= end || s - *p < 4)
			return -1;
		*p = s + 1;
		return 0;
	}
	while (s < end && isalpha((unsigned char)*s))
		s++;
	if (s - *p < 3)
		return -1;
	*p = s;
	return 0;
}

/* [+-]hh[:mm[:ss]] in seconds, hh up to max_hours. */
static int rule_hms(const char **p, const char *end, int max_hours, int32_t *seconds)
{
	const char *s = *p;
	int sign = 1, part[3] = {0, 0, 0}, nparts = 0;

	if (s < end && (*s == '+' || *s == '-'))
		sign = *s++ == '-' ? -1 : 1;
	while (nparts < 3) {
		int digits = 0, v = 0;

		while (s < end && isdigit((unsigned char)*s) && digits < 3) {
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0 || (nparts > 0 && (digits != 2 || v > 59)))
			return -1;
		part[nparts++] = v;
		if (s >= end || *s != ':')
			break;
		s++;
	}
	if (part[0] > max_hours)
		return -1;
	*seconds = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	*p = s;
	return 0;
}

/* A decimal number in [lo, hi]. */
static int rule_number(const char **p, const char *end, int lo, int hi, int *out)
{
	const char *s = *p;
	int v = 0;

	if (s >= end || !isdigit((unsigned char)*s))
		return -1;
	while (s < end && isdigit((unsigned char)*s) && v <= hi)
		v = v * 10 + (*s++ - '0');
	if (v < lo || v > hi)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

/* ",date[/time]": Jn, n or Mm.w.d, at 02:00 unless a time follows. */
static int rule_date(const char **p, const char *end, struct b4_tz_rule_date *d)
{
	const char *s = *p;
	int month, week, weekday, day;

	if (s >= end || *s++ != ',')
		return -1;
	memset(d, 0, sizeof(*d));
	if (s < end && *s == 'M') {
		s++;
		if (rule_number(&s, end, 1, 12, &month) < 0 || s >= end || *s++ != '.' ||
		    rule_number(&s, end, 1, 5, &week) < 0 || s >= end || *s++ != '.' ||
		    rule_number(&s, end, 0, 6, &weekday) < 0)
			return -1;
		d->kind = 'M';
		d->month = (int8_t)month;
		d->week = (int8_t)week;
		d->weekday = (int8_t)weekday;
	} else if (s < end && *s == 'J') {
		s++;
		if (rule_number(&s, end, 1, 365, &day) < 0)
			return -1;
		d->kind = 'J';
		d->day = (int16_t)day;
	} else {
		if (rule_number(&s, end, 0, 365, &day) < 0)
			return -1;
		d->kind = 'N';
		d->day = (int16_t)day;
	}
	d->time = 2 * 3600;
	if (s < end && *s == '/') {
		s++;
		if (rule_hms(&s, end, 167, &d->time) < 0)
			return -1;
	}
	*p = s;
	return 0;
}

int b4_tz_set_rule(struct b4_tz *tz, const char *rule, size_t len)
{
	const char *p = rule, *end = rule + len;
	struct b4_tz_rule_date start, finish;
	int32_t std_west, dst_west;

	if (!rule || rule_name(&p, end) < 0 || rule_hms(&p, end, 24, &std_west) < 0)
		return -1;
	if (p == end) {
		tz->has_rule = true;
		tz->rule_has_dst = false;
		tz->std_offset = tz->dst_offset = -std_west;
		return 0;
	}
	if (rule_name(&p, end) < 0)
		return -1;
	/* POSIX offsets count west of Greenwich; daylight time is one hour
	 * ahead of standard time unless it says otherwise */
	dst_west = std_west - 3600;
	if (p < end && *p != ',' && rule_hms(&p, end, 24, &dst_west) < 0)
		return -1;
	/* RFC 8536 requires the rule when a daylight name is present */
	if (rule_date(&p, end, &start) < 0 || rule_date(&p, end, &finish) < 0 || p != end)
		return -1;
	tz->has_rule = tz->rule_has_dst = true;
	tz->std_offset = -std_west;
	tz->dst_offset = -dst_west;
	tz->dst_start = start;
	tz->dst_end = finish;
	return 0;
}

static bool is_leap(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* The local time, in seconds since the epoch, of rule day d in year. */
static int64_t rule_local_time(int year, const struct b4_tz_rule_date *d)
{
	static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t days;

	if (d->kind == 'J')
		days = b4_tz_days_from_civil(year, 1, 1) + d->day - 1 +
		       (is_leap(year) && d->day >= 60);
	else if (d->kind == 'N')
		days = b4_tz_days_from_civil(year, 1, 1) + d->day;
	else {
		int length = month_days[d->month - 1] + (d->month == 2 && is_leap(year));
		int64_t first = b4_tz_days_from_civil(year, d->month, 1);
		/* 1970-01-01 was a Thursday (4) */
		int weekday = (int)(((first + 4) % 7 + 7) % 7);
		int mday = 1 + (d->weekday - weekday + 7) % 7 + 7 * (d->week - 1);

		while (mday > length)
			mday -= 7;
		days = first + mday - 1;
	}
	return days * 86400 + d->time;
}

/* The offset the footer's rule gives at t. */
static int32_t rule_offset(const struct b4_tz *tz, int64_t t)
{
	int64_t local, start, finish;
	int year, month, day;

	/* beyond some 30,000 years from 1970 the calendar's int years would
	 * overflow; no rule means anything there */
	if (!tz->rule_has_dst || t > INT64_C(1000000000000) || t < -INT64_C(1000000000000))
		return tz->std_offset;
	local = t + tz->std_offset;
	/* the year of t in standard time: with both changes inside it, a
	 * daylight period across the new year (south of the equator) reads
	 * the same from either side */
	b4_tz_civil_from_days(local / 86400 - (local % 86400 < 0), &year, &month, &day);
	start = rule_local_time(year, &tz->dst_start) - tz->std_offset;
	finish = rule_local_time(year, &tz->dst_end) - tz->dst_offset;
	if (start < finish)
		return t >= start && t < finish ? tz->dst_offset : tz->std_offset;
	return t >= finish && t < start ? tz->std_offset : tz->dst_offset;
}

int32_t b4_tz_offset(const struct b4_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntransitions;

	if (tz->has_rule && (hi == 0 || t > tz->transitions[hi - 1]))
		return rule_offset(tz, t);
	if (hi == 0 || t < tz->transitions[0])
		return tz->initial_offset;
	/* the last transition at or before t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->transitions[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offsets[lo];
}

int64_t b4_tz_local_midnight(const struct b4_tz *tz, int year, int month, int day)
{
	int64_t local = b4_tz_days_from_civil(year, month, day) * 86400;
	/* the offsets before and after any change near that midnight (zones
	 * change months apart, so there is at most one) */
	int32_t before = b4_tz_offset(tz, local - 86400), after = b4_tz_offset(tz, local + 86400);
	int64_t first = local - before, second = local - after, lo, hi;
	bool first_is = b4_tz_offset(tz, first) == before;
	bool second_is = b4_tz_offset(tz, second) == after;

	/* midnight is the instant local - o where offset o is in force; a
	 * midnight that happens twice starts the day at the earlier */
	if (first_is && second_is)
		return first < second ? first : second;
	if (first_is)
		return first;
	if (second_is)
		return second;
	/* a change skipped midnight (00:00 became 01:00): the day starts at
	 * the change, the first instant between the two with the new offset */
	lo = first < second ? first : second;
	hi = first < second ? second : first;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (b4_tz_offset(tz, mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

void b4_tz_cleanup(struct b4_tz *tz)
{
	if (!tz)
		return;
	free(tz->transitions);
	free(tz->offsets);
	memset(tz, 0, sizeof(*tz));
}

/* The usual era-based conversion between civil dates and day counts
 * (400-year eras of 146097 days, years starting in March). */
int64_t b4_tz_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void b4_tz_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = m;
	*day = d;
}
