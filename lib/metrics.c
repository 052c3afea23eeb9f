/* metrics.c - Prometheus text exposition: samples to a node_exporter textfile. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomicfile.h"
#include "metrics.h"

static int
name_ok(const char *s, int colons)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || (colons && *s == ':')))
			return 0;
	}
	return 1;
}

/* HELP text escapes \ and newline; label values also the double quote. */
static void
add_escaped(struct strbuf *out, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			strbuf_add(out, "\\\\", 2);
		else if (*s == '\n')
			strbuf_add(out, "\\n", 2);
		else if (quote && *s == '"')
			strbuf_add(out, "\\\"", 2);
		else
			strbuf_add(out, s, 1);
	}
}

static void
add_value(struct strbuf *out, double v)
{
	if (isnan(v))
		strbuf_adds(out, "NaN");
	else if (isinf(v))
		strbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    (double)(long long)v == v)
		strbuf_addf(out, "%lld", (long long)v);	/* no exponent */
	else
		strbuf_addf(out, "%.17g", v);
}

int
metrics_format(struct strbuf *out, const struct metrics_sample *s, size_t n,
    const char **why_r)
{
	const char *family = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!name_ok(s[i].name, 1)) {
			*why_r = "bad metric name";
			return -1;
		}
		if (family == NULL || strcmp(family, s[i].name) != 0) {
			if (s[i].type == NULL || (strcmp(s[i].type, "counter") != 0 &&
			    strcmp(s[i].type, "gauge") != 0)) {
				*why_r = "metric type must be counter or gauge";
				return -1;
			}
			family = s[i].name;
			strbuf_addf(out, "# HELP %s ", family);
			add_escaped(out, s[i].help != NULL ? s[i].help : "", 0);
			strbuf_addf(out, "\n# TYPE %s %s\n", family, s[i].type);
		}
		strbuf_adds(out, s[i].name);
		for (size_t j = 0; j < METRICS_LABELS_MAX &&
		    s[i].labels[j].name != NULL; j++) {
			const struct metrics_label *l = &s[i].labels[j];

			if (!name_ok(l->name, 0) || strncmp(l->name, "__", 2) == 0) {
				*why_r = "bad label name";
				return -1;
			}
			strbuf_addf(out, "%s%s=\"", j == 0 ? "{" : ",", l->name);
			add_escaped(out, l->value != NULL ? l->value : "", 1);
			strbuf_add(out, "\"", 1);
		}
		if (s[i].labels[0].name != NULL)
			strbuf_add(out, "}", 1);
		strbuf_add(out, " ", 1);
		add_value(out, s[i].value);
		strbuf_add(out, "\n", 1);
	}
	if (out->failed) {
		*why_r = "out of memory";
		return -1;
	}
	return 0;
}

int
metrics_write(const char *path, const struct metrics_sample *s, size_t n,
    char err[METRICS_ERROR_MAX])
{
	struct strbuf text = { 0 };
	struct atomicfile af;
	const char *why;
	int rc = -1;

	if (metrics_format(&text, s, n, &why) < 0)
		snprintf(err, METRICS_ERROR_MAX, "%s: %s", path, why);
	else if (atomicfile_open(&af, path, 0644, err, METRICS_ERROR_MAX) == 0) {
		if (atomicfile_write(&af, text.data, text.len, err,
		    METRICS_ERROR_MAX) < 0)
			atomicfile_abort(&af);
		else
			rc = atomicfile_commit(&af, err, METRICS_ERROR_MAX);
	}
	strbuf_free(&text);
	return rc;
}

int
metrics_snapshot_path(const char *metrics_file, char *buf, size_t len)
{
	size_t n = strlen(metrics_file);
	int w;

	if (n >= 5 && strcmp(metrics_file + n - 5, ".prom") == 0)
		w = snprintf(buf, len, "%.*s-snapshot.prom", (int)(n - 5),
		    metrics_file);
	else
		w = snprintf(buf, len, "%s-snapshot", metrics_file);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

#define G(n, h, v) { "authrelay_snapshot_" n, h, "gauge", { { NULL, NULL } }, (double)(v) }
#define C(n, h, v) { "authrelay_snapshot_" n, h, "counter", { { NULL, NULL } }, (double)(v) }

int
metrics_write_snapshot(const char *metrics_file,
    const struct snapshot_metrics *sm, char err[METRICS_ERROR_MAX])
{
	char path[ATOMICFILE_PATH_MAX];
	const struct metrics_sample s[] = {
		G("age_seconds", "How old the data in the snapshot files is.",
		    sm->age_seconds),
		G("base_relays", "Relays in the current base file.",
		    sm->base_relays),
		G("delta_rows", "Rows in the current delta file.", sm->delta_rows),
		G("delta_write_seconds", "How long the last delta write took.",
		    (double)sm->delta_write_ms / 1000.0),
		G("rebase_seconds", "How long the last base rebuild took.",
		    (double)sm->rebase_ms / 1000.0),
		C("fetch_rows_total", "Rows fetched from the database.",
		    sm->fetch_rows),
		C("fetches_total", "Change fetches from the database.", sm->fetches),
		C("delta_writes_total", "Delta files written.", sm->delta_writes),
		C("rebases_total", "Base files rebuilt.", sm->rebases),
	};

	if (metrics_snapshot_path(metrics_file, path, sizeof(path)) < 0) {
		snprintf(err, METRICS_ERROR_MAX, "%s: path too long", metrics_file);
		return -1;
	}
	return metrics_write(path, s, sizeof(s) / sizeof(s[0]), err);
}
