/* config.c - settings from the environment and flags; see b4/config.h. */
#include "b4/config.h"
#include "b4/probe.h"

#include <ctype.h>
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

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_blanks(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* After a value: only blanks, then nothing or a comment. */
static bool rest_is_empty(const char *p)
{
	while (is_blank(*p))
		p++;
	return *p == '\0' || *p == '#';
}

/* Unquotes a quoted value in place (p at the opening ' or "): single
 * quotes are literal, double quotes know \\, \" and \n. */
static int parse_quoted(char *p, char **value, char *why, size_t whylen)
{
	const char quote = *p;
	char *in = p + 1, *out = p + 1;

	*value = out;
	for (; *in && *in != quote; in++) {
		if (quote == '"' && *in == '\\' && (in[1] == '"' || in[1] == '\\'))
			*out++ = *++in;
		else if (quote == '"' && *in == '\\' && in[1] == 'n') {
			*out++ = '\n';
			in++;
		} else
			*out++ = *in;
	}
	if (*in != quote) {
		snprintf(why, whylen, "unterminated %s quote", quote == '"' ? "double" : "single");
		return -1;
	}
	*out = '\0';
	if (!rest_is_empty(in + 1)) {
		snprintf(why, whylen, "unexpected text after the closing quote");
		return -1;
	}
	return 0;
}

int b4_config_env_line_parse(char *line, char **key, char **value, char *why, size_t whylen)
{
	char *p = skip_blanks(line), *end;

	if (*p == '\0' || *p == '#')
		return 0;
	if (strncmp(p, "export", 6) == 0 && is_blank(p[6]))
		p = skip_blanks(p + 6);
	*key = p;
	if (!(isalpha((unsigned char)*p) || *p == '_')) {
		snprintf(why, whylen, "expected KEY=value with KEY made of letters, digits and _");
		return -1;
	}
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	end = p;
	p = skip_blanks(p);
	if (*p != '=') {
		snprintf(why, whylen, "expected KEY=value with KEY made of letters, digits and _");
		return -1;
	}
	*end = '\0';
	p = skip_blanks(p + 1);
	if (*p == '"' || *p == '\'')
		return parse_quoted(p, value, why, whylen) < 0 ? -1 : 1;
	*value = p;
	for (end = p; *end; end++)
		if (*end == '#' && end > p && is_blank(end[-1]))
			break;
	*end = '\0';
	while (end > p && is_blank(end[-1]))
		*--end = '\0';
	return 1;
}

int b4_config_env_file_load(const char *prog, const char *path, FILE *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *key, *value, why[160];
	size_t cap = 0;
	ssize_t len;
	long line_no = 0;
	int rc = 0;

	if (!f) {
		fprintf(err, "%s: --env-file %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		line_no++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			snprintf(why, sizeof(why), "NUL byte in the line");
			goto out_bad_line;
		}
		switch (b4_config_env_line_parse(line, &key, &value, why, sizeof(why))) {
		case 0:
			continue;
		case 1:
			if (setenv(key, value, 0) < 0) {
				snprintf(why, sizeof(why), "cannot set %s: %s", key,
					 strerror(errno));
				goto out_bad_line;
			}
			continue;
		default:
			goto out_bad_line;
		}
	}
	if (ferror(f)) {
		fprintf(err, "%s: --env-file %s: %s\n", prog, path, strerror(errno));
		rc = -1;
	}
	goto out_close;
out_bad_line:
	fprintf(err, "%s: %s:%ld: %s\n", prog, path, line_no, why);
	rc = -1;
out_close:
	free(line);
	fclose(f);
	return rc;
}

static char loaded_path[4096];

int b4_config_env_file_apply(const char *prog, int argc, char **argv,
			     const char *(*environ_get)(const char *), FILE *err)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--env-file=", 11) == 0) {
			path = argv[i] + 11;
		} else if (strcmp(argv[i], "--env-file") == 0) {
			if (i + 1 >= argc) {
				fprintf(err, "%s: --env-file needs a value\n", prog);
				return -1;
			}
			path = argv[++i];
		}
	}
	if (!path)
		path = environ_get("B4_ENV_FILE");
	if (!path || !*path)
		return 0;
	/* Loaded at start-up already: a later b4_config_load (storage's, on a
	 * handler thread) must neither call setenv nor fail on a file that
	 * has changed since. */
	if (strcmp(path, loaded_path) == 0)
		return 0;
	if (b4_config_env_file_load(prog, path, err) < 0)
		return -1;
	snprintf(loaded_path, sizeof(loaded_path), "%s", path);
	return 0;
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
	fprintf(out, "  --%-22s %-26s %s\n", "env-file", "B4_ENV_FILE",
		"read KEY=value settings from this file (the environment wins)");
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
	if (b4_config_env_file_apply(prog, argc, argv, environ_get, err) < 0)
		return B4_CONFIG_ERROR;
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
		if (namelen == 8 && strncmp(name, "env-file", 8) == 0) {
			/* already loaded by b4_config_env_file_apply */
			if (!eq)
				i++;
			continue;
		}
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
