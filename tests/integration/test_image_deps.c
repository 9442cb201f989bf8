/* test_image_deps.c - the container image can run every binary: the
 * Dockerfile's runtime stage installs exactly the Debian packages that own
 * the binaries' NEEDED libraries (deploy/docker/runtime-deps.sh, with
 * objdump, ldd and dpkg -S on this Debian machine), the check fails on a
 * missing or an extra package, and the Dockerfile keeps the rest of its
 * promises: the ldd check in the build, a shell-free HEALTHCHECK, a
 * non-root user, the version as a build argument, .dockerignore at the
 * context root. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static char *dockerfile(void)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/deploy/docker/Dockerfile", h_top());
	return slurp(path);
}

/* Runs runtime-deps.sh on the build's binaries and the given Dockerfile;
 * returns its exit status, its stderr in err (malloc'd). */
static int runtime_deps(const char *dockerfile_path, char **err)
{
	char cmd[4096], err_path[1200];
	int rc;

	snprintf(err_path, sizeof(err_path), "%s/runtime-deps-%d.err", h_var(), (int)getpid());
	snprintf(cmd, sizeof(cmd), "'%s/deploy/docker/runtime-deps.sh' '%s/bin' '%s' 2>'%s'",
		 h_top(), h_build(), dockerfile_path, err_path);
	rc = system(cmd);
	*err = slurp(err_path);
	fprintf(stderr, "%s", *err);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Writes the Dockerfile with from replaced by to into the scratch dir. */
static const char *edited_dockerfile(const char *from, const char *to)
{
	static char path[1200];
	char *text = dockerfile(), *at = strstr(text, from);
	FILE *f;

	assert_non_null(at);
	snprintf(path, sizeof(path), "%s/Dockerfile-edited-%d", h_var(), (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	fclose(f);
	free(text);
	return path;
}

static void test_runtime_packages_cover_every_binary(void **state)
{
	char path[1200], *err;
	(void)state;

	snprintf(path, sizeof(path), "%s/deploy/docker/Dockerfile", h_top());
	assert_int_equal(runtime_deps(path, &err), 0);
	free(err);
}

static void test_missing_package_is_caught(void **state)
{
	char *err;
	(void)state;

	/* the gateway's TLS library: the very failure the image once had */
	assert_int_not_equal(runtime_deps(edited_dockerfile(" libevent-openssl-2.1-7 ", " "), &err),
			     0);
	assert_non_null(strstr(err, "missing from the runtime stage: libevent-openssl-2.1-7"));
	assert_non_null(strstr(err, "libevent_openssl-2.1.so.7"));
	free(err);
}

static void test_extra_package_is_caught(void **state)
{
	char *err;
	(void)state;

	assert_int_not_equal(
	    runtime_deps(edited_dockerfile(" libargon2-1 ", " libargon2-1 libxml2 "), &err), 0);
	assert_non_null(strstr(err, "installed but not needed by any binary: libxml2"));
	free(err);
}

static void test_dockerfile_promises(void **state)
{
	char *text = dockerfile(), path[1200];
	const char *runtime = strstr(text, "AS runtime");
	(void)state;

	assert_non_null(runtime);
	/* the build stops on an unresolved library, after the copy */
	assert_non_null(strstr(runtime, "ldd \"$bin\" | grep 'not found'"));
	assert_true(strstr(runtime, "ldd") > strstr(runtime, "COPY --from=build /src/build/bin/"));
	/* exec-form health check through the binary itself */
	assert_non_null(strstr(runtime, "HEALTHCHECK"));
	assert_non_null(strstr(runtime, "CMD [\"/usr/local/bin/b4-api\", \"--probe\""));
	assert_null(strstr(text, "CMD-SHELL"));
	assert_null(strstr(text, "/dev/tcp"));
	/* non-root, version from the build */
	assert_non_null(strstr(runtime, "USER 10001"));
	assert_non_null(strstr(text, "ARG B4_VERSION"));
	assert_non_null(strstr(text, "VERSION=\"${B4_VERSION}\""));
	free(text);

	/* the context is the repository root: its .dockerignore keeps host
	 * build outputs and secrets out; none sits where docker ignores it */
	snprintf(path, sizeof(path), "%s/.dockerignore", h_top());
	text = slurp(path);
	assert_non_null(strstr(text, "\nbuild/\n"));
	assert_non_null(strstr(text, "\nbuild-*/\n"));
	assert_non_null(strstr(text, ".git/\n"));
	assert_non_null(strstr(text, "deploy/secrets.env\n"));
	free(text);
	snprintf(path, sizeof(path), "%s/deploy/docker/.dockerignore", h_top());
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtime_packages_cover_every_binary),
	    cmocka_unit_test(test_missing_package_is_caught),
	    cmocka_unit_test(test_extra_package_is_caught),
	    cmocka_unit_test(test_dockerfile_promises),
	};
	return cmocka_run_group_tests_name("image_deps", tests, NULL, NULL);
}
