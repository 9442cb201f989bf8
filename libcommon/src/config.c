/* config.c - settings from the environment and flags; see b4/config.h. */
#include "b4/config.h"
#include "b4/probe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {"string", "integer", "boolean", "duration", "flag"};

int b4_config_parse_seconds(const char *text, double *out)
{
	char *end;
	double v, scale = 1;

	if (!text || !*text)
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		scale = 1;
	else if (strcmp(end, "ms") == 0)
		scale = 0.001;
	else if (strcmp(end, "m") == 0)
		scale = 60;
	else if (strcmp(end, "h") == 0)
		scale = 3600;
	else
		return -1;
	*out = v * scale;
	return 0;
}

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Stores text into opt's target; on failure writes the reason to why. */
static int apply(const struct b4_config_opt *opt, const char *text, char *why, size_t whylen)
{
	switch (opt->type) {
	case B4_CFG_STR:
		if (opt->choices) {
			size_t i;
			for (i = 0; opt->choices[i]; i++)
				if (strcmp(opt->choices[i], text) == 0)
					break;
			if (!opt->choices[i]) {
				size_t used = (size_t)snprintf(why, whylen, "expected one of");
				for (i = 0; opt->choices[i] && used < whylen; i++)
					used += (size_t)snprintf(why + used, whylen - used, "%s %s",
								 i ? "," : "", opt->choices[i]);
				return -1;
			}
		}
		*(const char **)opt->target = text;
		return 0;
	case B4_CFG_INT: {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || *end ||
		    (opt->min != opt->max && (v < opt->min || v > opt->max))) {
			if (opt->min != opt->max)
				snprintf(why, whylen, "expected an integer %lld..%lld",
					 (long long)opt->min, (long long)opt->max);
			else
				snprintf(why, whylen, "expected an integer");
			return -1;
		}
		*(int64_t *)opt->target = v;
		return 0;
	}
	case B4_CFG_BOOL:
	case B4_CFG_FLAG:
		if (parse_bool(text, (bool *)opt->target) < 0) {
			snprintf(why, whylen, "expected true or false");
			return -1;
		}
		return 0;
	case B4_CFG_SECONDS: {
		double v;
		if (b4_config_parse_seconds(text, &v) < 0 ||
		    (opt->min != opt->max && (v < (double)opt->min || v > (double)opt->max))) {
			if (opt->min != opt->max)
				snprintf(why, whylen,
					 "expected a duration %llds..%llds (e.g. 500ms, 10s)",
					 (long long)opt->min, (long long)opt->max);
			else
				snprintf(why, whylen, "expected a duration (e.g. 500ms, 10s, 2m)");
			return -1;
		}
		*(double *)opt->target = v;
		return 0;
	}
	}
	return -1;
}

static void print_help(const char *prog, const struct b4_config_opt *opts, size_t nopts, FILE *out)
{
	fprintf(out, "usage: %s [--setting value ...]\n\n", prog);
	fprintf(
	    out,
	    "Each setting comes from its environment variable or its flag (the flag wins).\n\n");
	for (size_t i = 0; i < nopts; i++) {
		const struct b4_config_opt *o = &opts[i];
		fprintf(out, "  --%-22s %-26s %s", o->flag, o->env ? o->env : "", o->help);
		if (o->default_value && !o->secret)
			fprintf(out, " (default: %s)", o->default_value);
		fprintf(out, " [%s]\n", type_names[o->type]);
	}
	fprintf(out, "  --%-22s %-26s %s\n", "help", "", "print this help and exit");
	fprintf(out, "  --%-22s %-26s %s\n", "version", "", "print the version and exit");
	fprintf(out, "  --%-22s %-26s %s\n", "probe URL", "",
		"GET URL, exit 0 on a 2xx (health checks)");
}

static int report(const char *prog, const struct b4_config_opt *opt, const char *source,
		  const char *text, const char *why, FILE *err)
{
	if (opt->secret)
		fprintf(err, "%s: %s: %s\n", prog, source, why);
	else
		fprintf(err, "%s: %s: %s, got \"%s\"\n", prog, source, why, text);
	(void)opt;
	return -1;
}

enum b4_config_result b4_config_load(const char *prog, const struct b4_config_opt *opts,
				     size_t nopts, int argc, char **argv,
				     const char *(*environ_get)(const char *), FILE *out, FILE *err)
{
	char why[256];
	char source[96];

	/* a health check: nothing else is read, so a bad setting cannot fail it */
	if (b4_probe_requested(argc, argv)) {
		int default_port = 0;
		for (size_t i = 0; i < nopts; i++)
			if (opts[i].env && strcmp(opts[i].env, "B4_PORT") == 0 &&
			    opts[i].default_value)
				default_port = atoi(opts[i].default_value);
		return b4_probe_main(prog, default_port, argc, argv, err) == 0 ? B4_CONFIG_EXIT
									       : B4_CONFIG_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help(prog, opts, nopts, out);
			return B4_CONFIG_EXIT;
		}
		if (strcmp(argv[i], "--version") == 0) {
			fprintf(out, "%s %s\n", prog, b4_version);
			return B4_CONFIG_EXIT;
		}
	}
	for (size_t i = 0; i < nopts; i++) {
		const struct b4_config_opt *o = &opts[i];
		const char *env = o->env ? environ_get(o->env) : NULL;
		if (o->default_value && apply(o, o->default_value, why, sizeof(why)) < 0) {
			fprintf(err, "%s: bad built-in default for --%s: %s\n", prog, o->flag, why);
			return B4_CONFIG_ERROR;
		}
		if (o->type == B4_CFG_FLAG && !o->default_value)
			*(bool *)o->target = false;
		if (env && apply(o, env, why, sizeof(why)) < 0)
			return report(prog, o, o->env, env, why, err);
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value, *eq;
		size_t namelen, j;

		if (strncmp(arg, "--", 2) != 0) {
			fprintf(err, "%s: unexpected argument \"%s\" (see --help)\n", prog, arg);
			return B4_CONFIG_ERROR;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		namelen = eq ? (size_t)(eq - name) : strlen(name);
		for (j = 0; j < nopts; j++)
			if (strlen(opts[j].flag) == namelen &&
			    strncmp(opts[j].flag, name, namelen) == 0)
				break;
		if (j == nopts) {
			fprintf(err, "%s: unknown option --%.*s (see --help)\n", prog, (int)namelen,
				name);
			return B4_CONFIG_ERROR;
		}
		if (eq) {
			value = eq + 1;
		} else if (opts[j].type == B4_CFG_FLAG) {
			value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(err, "%s: --%s needs a value\n", prog, opts[j].flag);
			return B4_CONFIG_ERROR;
		}
		snprintf(source, sizeof(source), "--%s", opts[j].flag);
		if (apply(&opts[j], value, why, sizeof(why)) < 0)
			return report(prog, &opts[j], source, value, why, err);
	}
	return B4_CONFIG_OK;
}
