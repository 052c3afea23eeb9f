/* test-metrics.c - unit tests for lib/metrics.c: format, escaping, bad names, files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "metrics.h"

static char dir[] = "/tmp/test-metrics.XXXXXX";

static const char *
slurp(const char *p)
{
	static char buf[4096];
	FILE *f = fopen(p, "r");
	size_t n = f == NULL ? 0 : fread(buf, 1, sizeof(buf) - 1, f);

	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

int
main(void)
{
	struct metrics_sample s[] = {
		{ "a_total", "Lines \\ read\nin all.", "counter",
		    { { "outcome", "gr\"a\\n\nt" }, { "x", "" } }, 3 },
		{ "a_total", NULL, NULL, { { "outcome", "ignored" } }, 18446744073709551615.0 },
		{ "b", "Gauge.", "gauge", { { NULL, NULL } }, 0.25 },
		{ "c", "Inf.", "gauge", { { NULL, NULL } }, INFINITY },
	};
	struct strbuf out = { 0 };
	char err[METRICS_ERROR_MAX], path[256], snap[256];
	const char *why = NULL;
	struct snapshot_metrics sm = { .age_seconds = 1.5, .base_relays = 7,
	    .fetches = 2 };
	struct stat sb;

	CHECK(metrics_format(&out, s, 4, &why) == 0);
	CHECK(strcmp(out.data,
	    "# HELP a_total Lines \\\\ read\\nin all.\n"
	    "# TYPE a_total counter\n"
	    "a_total{outcome=\"gr\\\"a\\\\n\\nt\",x=\"\"} 3\n"
	    "a_total{outcome=\"ignored\"} 1.8446744073709552e+19\n"
	    "# HELP b Gauge.\n# TYPE b gauge\nb 0.25\n"
	    "# HELP c Inf.\n# TYPE c gauge\nc +Inf\n") == 0);
	if (out.data != NULL)
		fputs(out.data, stdout);

	strbuf_reset(&out);
	s[2].name = "9bad";
	CHECK(metrics_format(&out, s, 4, &why) < 0 && strstr(why, "name") != NULL);
	s[2].name = "b";
	s[2].labels[0] = (struct metrics_label){ "__x", "v" };
	CHECK(metrics_format(&out, s, 4, &why) < 0 && strstr(why, "label") != NULL);
	s[2].labels[0] = (struct metrics_label){ NULL, NULL };
	s[2].type = "histogram";
	CHECK(metrics_format(&out, s, 4, &why) < 0 && strstr(why, "type") != NULL);
	s[2].type = "gauge";
	strbuf_free(&out);

	CHECK(metrics_snapshot_path("/x/authrelay.prom", snap, sizeof(snap)) == 0 &&
	    strcmp(snap, "/x/authrelay-snapshot.prom") == 0);
	CHECK(metrics_snapshot_path("/x/m", snap, sizeof(snap)) == 0 &&
	    strcmp(snap, "/x/m-snapshot") == 0);
	CHECK(metrics_snapshot_path("/x/authrelay.prom", snap, 10) < 0);

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/authrelay.prom", dir);
	CHECK(metrics_write(path, s, 4, err) == 0);
	CHECK(strstr(slurp(path), "b 0.25\n") != NULL);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);
	CHECK(metrics_write_snapshot(path, &sm, err) == 0);
	snprintf(snap, sizeof(snap), "%s/authrelay-snapshot.prom", dir);
	CHECK(strstr(slurp(snap), "\nauthrelay_snapshot_age_seconds 1.5\n") != NULL);
	CHECK(strstr(slurp(snap), "\nauthrelay_snapshot_base_relays 7\n") != NULL);
	CHECK(strstr(slurp(snap), "# TYPE authrelay_snapshot_fetches_total counter\n"
	    "authrelay_snapshot_fetches_total 2\n") != NULL);
	/* A bad sample leaves the old file in place. */
	s[2].name = "9bad";
	CHECK(metrics_write(path, s, 4, err) < 0 && strstr(err, path) != NULL);
	CHECK(strstr(slurp(path), "b 0.25\n") != NULL);
	unlink(path);
	unlink(snap);
	CHECK(rmdir(dir) == 0);
	return harness_done();
}
