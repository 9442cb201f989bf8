/* test_tz.c - b4/tz.h against the system's zone files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/tz.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(b4_tz_name_is_valid("America/Sao_Paulo"));
	assert_true(b4_tz_name_is_valid("UTC"));
	assert_true(b4_tz_name_is_valid("Etc/GMT+3"));
	assert_false(b4_tz_name_is_valid(""));
	assert_false(b4_tz_name_is_valid("/etc/passwd"));
	assert_false(b4_tz_name_is_valid("America/../../etc/passwd"));
	assert_false(b4_tz_name_is_valid("America/Sao Paulo"));
	assert_false(b4_tz_name_is_valid(NULL));
}

static void test_offsets(void **state)
{
	struct b4_tz tz;
	(void)state;

	assert_int_equal(b4_tz_load(&tz, "America/Sao_Paulo"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), -3 * 3600); /* 2026-03-01 */
	assert_int_equal(b4_tz_offset(&tz, 1515974400), -2 * 3600); /* 2018-01-15, summer time */
	/* 2026-03-10 00:00 local is 03:00 UTC */
	assert_int_equal(b4_tz_local_midnight(&tz, 2026, 3, 10), 1773111600);
	/* 2018-11-04 00:00 -03 became 01:00 -02 at 03:00 UTC: the day
	 * starts then, not at 02:00 UTC (23:00 on the 3rd) */
	assert_int_equal(b4_tz_local_midnight(&tz, 2018, 11, 4), 1541300400);
	/* 2019-02-17 00:00 -02 went back to 23:00 -03 on the 16th: the 17th
	 * starts at 00:00 -03, 03:00 UTC */
	assert_int_equal(b4_tz_local_midnight(&tz, 2019, 2, 17), 1550372400);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "America/New_York"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1783296000), -4 * 3600); /* 2026-07-06 */
	assert_int_equal(b4_tz_offset(&tz, 1767225600), -5 * 3600); /* 2026-01-01 */
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "Asia/Kolkata"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), 5 * 3600 + 1800);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "UTC"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), 0);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "Mars/Olympus"), -1);
	assert_int_equal(b4_tz_load(&tz, "../../etc/passwd"), -1);
	b4_tz_cleanup(&tz);
}

static int set_rule(struct b4_tz *tz, const char *rule)
{
	return b4_tz_set_rule(tz, rule, strlen(rule));
}

static void test_rule_strings(void **state)
{
	static const char *const good[] = {
	    "UTC0",
	    "<-03>3",
	    "EST5EDT,M3.2.0,M11.1.0",
	    "AEST-10AEDT,M10.1.0,M4.1.0/3",
	    /* Dublin: winter is the "daylight" time, an hour behind */
	    "IST-1GMT0,M10.5.0,M3.5.0/1",
	    "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
	    /* RFC 8536: negative and over-24 h times, all-year daylight time */
	    "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	    "EST5EDT,0/0,J365/25",
	    "XXX3YYY,J60/1:30,300/167",
	};
	static const char *const bad[] = {
	    "",
	    "E5",
	    "EST",
	    "EST5EDT",
	    "EST5EDT,M3.2.0",
	    "EST5EDT,M13.2.0,M11.1.0",
	    "EST5EDT,M3.6.0,M11.1.0",
	    "EST5EDT,M3.2.7,M11.1.0",
	    "EST5EDT,M3.2,M11.1.0",
	    "<AB>3",
	    "<-03",
	    "EST25",
	    "EST5:60",
	    "EST5:5",
	    "EST5x",
	    "EST5EDT,J0,J365",
	    "EST5EDT,366,1",
	    "EST5EDT,M3.2.0/168,M11.1.0",
	    "EST5EDT,M3.2.0,M11.1.0,",
	    "EST99999999999999999999",
	    "EST5EDT,M3.2.0/2:00:60,M11.1.0",
	};
	struct b4_tz tz;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&tz, 0, sizeof(tz));
		if (set_rule(&tz, good[i]) != 0)
			fail_msg("refused %s", good[i]);
		assert_true(tz.has_rule);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&tz, 0, sizeof(tz));
		if (set_rule(&tz, bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_false(tz.has_rule);
	}
	/* a refused rule leaves the one before */
	memset(&tz, 0, sizeof(tz));
	assert_int_equal(set_rule(&tz, "<-03>3"), 0);
	assert_int_equal(set_rule(&tz, "EST5EDT,M3.2.0"), -1);
	assert_int_equal(b4_tz_offset(&tz, 0), -3 * 3600);
	/* only len bytes are read */
	assert_int_equal(b4_tz_set_rule(&tz, "JST-9garbage", 5), 0);
	assert_int_equal(b4_tz_offset(&tz, 0), 9 * 3600);
}

/* Offsets past 2037, where the fat files end, against Python's zoneinfo. */
static void test_rule_offsets(void **state)
{
	static const struct {
		const char *zone;
		int64_t t;
		int32_t offset;
	} cases[] = {
	    {"America/New_York", 2215061999, -5 * 3600}, /* 2040-03-11 06:59:59 UTC */
	    {"America/New_York", 2215062000, -4 * 3600}, /* 02:00 EST becomes 03:00 EDT */
	    {"America/New_York", 2235621599, -4 * 3600}, /* 2040-11-04 05:59:59 UTC */
	    {"America/New_York", 2235621600, -5 * 3600},
	    {"Australia/Sydney", 2368051200, 11 * 3600}, /* 2045-01-15 */
	    {"Australia/Sydney", 2382480000, 10 * 3600}, /* 2045-07-01 */
	    {"Europe/Dublin", 2382480000, 3600},
	    {"Europe/Dublin", 2366841600, 0},			  /* 2045-01-01 */
	    {"Pacific/Chatham", 2524608000, 13 * 3600 + 45 * 60}, /* 2050-01-01 */
	    {"Pacific/Chatham", 2540246400, 12 * 3600 + 45 * 60}, /* 2050-07-01 */
	    {"America/Sao_Paulo", 2840140800, -3 * 3600},	  /* 2060-01-01 */
	    {"America/Nuuk", 2540246400, -3600},
	    {"America/Nuuk", 2524608000, -2 * 3600},
	};
	struct b4_tz tz;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(b4_tz_load(&tz, cases[i].zone), 0);
		assert_true(tz.has_rule);
		if (b4_tz_offset(&tz, cases[i].t) != cases[i].offset)
			fail_msg("%s at %lld: %d, want %d", cases[i].zone, (long long)cases[i].t,
				 b4_tz_offset(&tz, cases[i].t), cases[i].offset);
		b4_tz_cleanup(&tz);
	}
	/* local midnight on a day daylight time starts at 00:00 (Sao Paulo
	 * before 2019 had them; the rule does the same past the table) */
	memset(&tz, 0, sizeof(tz));
	assert_int_equal(set_rule(&tz, "<-03>3<-02>,M11.1.0/0,M2.3.0/0"), 0);
	/* 2050-11-06 00:00 local does not exist: the day starts at 01:00
	 * -02, 03:00 UTC */
	assert_int_equal(b4_tz_local_midnight(&tz, 2050, 11, 6),
			 b4_tz_days_from_civil(2050, 11, 6) * 86400 + 3 * 3600);
	assert_int_equal(b4_tz_offset(&tz, b4_tz_days_from_civil(2051, 1, 10) * 86400), -2 * 3600);
}

static int64_t local_day(const struct b4_tz *tz, int64_t t)
{
	int64_t local = t + b4_tz_offset(tz, t);

	return local / 86400 - (local % 86400 < 0);
}

/* Every day from 1950 to 2100 starts at the instant local_midnight says:
 * the first instant on that day or later (Apia skipped 2011-12-30: it
 * starts and ends when the 31st starts). */
static void test_midnight_starts_the_day(void **state)
{
	struct b4_tz tz;
	static const char *const zones[] = {
	    "America/Sao_Paulo", "America/Santiago",	"America/Havana", "Asia/Beirut",
	    "America/New_York",	 "Australia/Lord_Howe", "Pacific/Apia",	  "Europe/Lisbon",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		assert_int_equal(b4_tz_load(&tz, zones[i]), 0);
		for (int64_t day = b4_tz_days_from_civil(1950, 1, 1);
		     day < b4_tz_days_from_civil(2100, 1, 1); day++) {
			int y, m, d;
			int64_t start;

			b4_tz_civil_from_days(day, &y, &m, &d);
			start = b4_tz_local_midnight(&tz, y, m, d);
			if (local_day(&tz, start) < day || local_day(&tz, start - 1) >= day)
				fail_msg("%s %04d-%02d-%02d starts at %lld", zones[i], y, m, d,
					 (long long)start);
		}
		b4_tz_cleanup(&tz);
	}
	assert_int_equal(b4_tz_load(&tz, "Pacific/Apia"), 0);
	assert_int_equal(b4_tz_local_midnight(&tz, 2011, 12, 30),
			 b4_tz_local_midnight(&tz, 2011, 12, 31));
	assert_int_equal(b4_tz_local_midnight(&tz, 2011, 12, 31) -
			     b4_tz_local_midnight(&tz, 2011, 12, 29),
			 86400);
	b4_tz_cleanup(&tz);
}

/* Slim files (zic -b slim) stop at the last change of rules and leave the
 * rest to the footer; fat ones list every transition to 2037.  Both must
 * give the same offset at every time, to 2100. */
static void test_slim_matches_fat(void **state)
{
	static const char *const zones[] = {
	    "America/Sao_Paulo", "America/New_York", "Europe/Lisbon",	 "Europe/Dublin",
	    "Australia/Sydney",	 "Pacific/Chatham",  "America/Santiago", "Asia/Kolkata",
	    "America/Nuuk",	 "Africa/Cairo",     "Pacific/Auckland", "UTC",
	};
	char dir[] = "/tmp/b4-tz-XXXXXX", cmd[256];
	const char *saved = getenv("TZDIR");
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "zic -b slim -d %s /usr/share/zoneinfo/tzdata.zi", dir);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct b4_tz fat, slim;

		assert_int_equal(b4_tz_load(&fat, zones[i]), 0);
		setenv("TZDIR", dir, 1);
		assert_int_equal(b4_tz_load(&slim, zones[i]), 0);
		if (saved)
			setenv("TZDIR", saved, 1);
		else
			unsetenv("TZDIR");
		assert_true(slim.ntransitions <= fat.ntransitions);
		/* every 15 minutes would be 4.6M points a zone; 1 h 7 min
		 * steps walk across every time of day over the years */
		for (int64_t t = 0; t < 4102444800; t += 4020) {
			if (b4_tz_offset(&fat, t) != b4_tz_offset(&slim, t))
				fail_msg("%s at %lld: fat %d, slim %d", zones[i], (long long)t,
					 b4_tz_offset(&fat, t), b4_tz_offset(&slim, t));
		}
		b4_tz_cleanup(&fat);
		b4_tz_cleanup(&slim);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_civil_days(void **state)
{
	int y, m, d;
	(void)state;

	assert_int_equal(b4_tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(b4_tz_days_from_civil(2026, 3, 10), 20522);
	for (int64_t days = -1000; days < 40000; days += 37) {
		b4_tz_civil_from_days(days, &y, &m, &d);
		assert_int_equal(b4_tz_days_from_civil(y, m, d), days);
	}
	b4_tz_civil_from_days(20522, &y, &m, &d);
	assert_int_equal(y, 2026);
	assert_int_equal(m, 3);
	assert_int_equal(d, 10);
	b4_tz_civil_from_days(b4_tz_days_from_civil(2024, 2, 29) + 1, &y, &m, &d);
	assert_int_equal(m, 3);
	assert_int_equal(d, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_rule_strings),
	    cmocka_unit_test(test_rule_offsets),
	    cmocka_unit_test(test_slim_matches_fat),
	    cmocka_unit_test(test_midnight_starts_the_day),
	    cmocka_unit_test(test_civil_days),
	};

	return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
