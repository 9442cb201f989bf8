/* tz.c - TZif reader and offset lookup; see b4/tz.h. */
#include "b4/tz.h"

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
	size_t v1;

	if (header_read(data, len, &c) < 0)
		return -1;
	v1 = 44 + block_size(&c, 4);
	if (v1 > len)
		return -1;
	if (data[4] == '\0')
		return block_read(tz, data + 44, &c, 4);
	/* version 2+: a second header with 64-bit times follows */
	if (header_read(data + v1, len - v1, &c) < 0 || v1 + 44 + block_size(&c, 8) > len)
		return -1;
	return block_read(tz, data + v1 + 44, &c, 8);
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

int32_t b4_tz_offset(const struct b4_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntransitions;

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
	int64_t guess = local - b4_tz_offset(tz, local);

	/* the offset at the guess may differ (a transition near midnight):
	 * one more step settles it; a midnight skipped by a transition maps
	 * to the first instant after it */
	guess = local - b4_tz_offset(tz, guess);
	return guess;
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
