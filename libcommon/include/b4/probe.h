/* probe.h - `--probe URL`: a health check that needs no shell.
 *
 * Container health checks run in exec form (`["CMD", "/usr/local/bin/b4-api",
 * "--probe", "http://127.0.0.1:8081/healthz"]`): the binary itself sends one
 * plain HTTP/1.0 GET with a short deadline and exits 0 on a 2xx answer,
 * non-zero on anything else (another status, refused, timed out, bad URL).
 * b4_config_load handles the flag before any other setting, so every binary
 * built on it has the mode; b4-gateway calls b4_probe_main itself.
 */
#ifndef B4_PROBE_H
#define B4_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Default deadline of one probe (connect, send and read the status line). */
#define B4_PROBE_TIMEOUT_MS 3000

/* True when argv holds `--probe URL` or `--probe=URL`. */
bool b4_probe_requested(int argc, char **argv);

/* Sends GET url (http://host[:port][/path], host a name or an IPv4/[IPv6]
 * literal) and returns the answer's status code, or -1 with the reason in
 * why when no status line came back within timeout_ms. */
int b4_probe_get(const char *url, int timeout_ms, char *why, size_t whylen);

/* Runs the probe named in argv and returns the process exit status: 0 on a
 * 2xx answer; otherwise 1 after one line on err naming prog, the URL and
 * what came back.  A bare path ("/healthz") means this host on port
 * B4_PROBE_PORT, else B4_PORT, else default_port, so one image-level
 * HEALTHCHECK fits every service of the image. */
int b4_probe_main(const char *prog, int default_port, int argc, char **argv, FILE *err);

#endif
