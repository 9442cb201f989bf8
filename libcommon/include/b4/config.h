/* config.h - settings from B4_* environment variables and --flags.
 *
 * A binary describes its settings as a static table; b4_config_load fills
 * the targets from defaults, then the environment, then the command line
 * (`--name value` or `--name=value`), validating each.  --help prints the
 * table; --version prints the version.  A bad value is reported in one
 * line naming the setting, and b4_config_load returns -1 (the caller exits
 * with status 2).
 */
#ifndef B4_CONFIG_H
#define B4_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum b4_config_type {
	B4_CFG_STR,	/* target: char ** (points into env/argv or default; not freed) */
	B4_CFG_INT,	/* target: int64_t *, checked against min..max */
	B4_CFG_BOOL,	/* target: bool *; true/false/1/0/yes/no/on/off */
	B4_CFG_SECONDS, /* target: double *; "1.5", "250ms", "10s", "2m", "1h" */
	B4_CFG_FLAG,	/* target: bool *; a bare --name sets true */
};

struct b4_config_opt {
	const char *flag; /* "port" -> --port */
	const char *env;  /* "B4_PORT", or NULL for flag-only */
	enum b4_config_type type;
	const char *default_value; /* text, parsed like the others; NULL = none */
	const char *help;
	void *target;
	int64_t min, max;	    /* B4_CFG_INT and B4_CFG_SECONDS bounds (0,0 = none) */
	const char *const *choices; /* B4_CFG_STR: NULL-terminated allowed values */
	bool secret;		    /* never echoed in errors or --help defaults */
};

/* Result of b4_config_load. */
enum b4_config_result {
	B4_CONFIG_OK = 0,
	B4_CONFIG_EXIT = 1,   /* --help or --version was printed: exit 0 */
	B4_CONFIG_ERROR = -1, /* a line was printed to err: exit 2 */
};

/* Fills every opt target.  prog names the binary in messages; out/err are
 * where --help and errors go (stdout, stderr in binaries; files in tests).
 * environ_get is getenv, or a test's lookup function. */
enum b4_config_result b4_config_load(const char *prog, const struct b4_config_opt *opts,
				     size_t nopts, int argc, char **argv,
				     const char *(*environ_get)(const char *), FILE *out,
				     FILE *err);

/* Parses a duration such as "250ms", "10s", "2m", "1h" or "1.5" (seconds). */
int b4_config_parse_seconds(const char *text, double *out);

#endif
