/* metrics.h - Prometheus text exposition: samples to a node_exporter textfile. */
#ifndef AUTHRELAY_METRICS_H
#define AUTHRELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define METRICS_ERROR_MAX 512
#define METRICS_LABELS_MAX 4

struct metrics_label {
	const char *name;	/* [a-zA-Z_][a-zA-Z0-9_]*, not starting "__" */
	const char *value;	/* any text; escaped on output */
};

/*
 * One sample. Samples of one metric family (same name) must be adjacent;
 * the first of them carries help and type ("counter" or "gauge"), which
 * are written once as # HELP and # TYPE lines.
 */
struct metrics_sample {
	const char *name;	/* [a-zA-Z_:][a-zA-Z0-9_:]* */
	const char *help;
	const char *type;
	struct metrics_label labels[METRICS_LABELS_MAX];	/* name NULL: end */
	double value;
};

/*
 * Append the text format of n samples to out. Returns 0, or -1 with a
 * one-line reason in why_r (a bad name or type; out is then incomplete).
 */
int metrics_format(struct strbuf *out, const struct metrics_sample *s,
    size_t n, const char **why_r);

/*
 * Replace path atomically (lib/atomicfile, mode 0644) with the text
 * format of n samples. Returns 0, or -1 with "what: why" in err.
 */
int metrics_write(const char *path, const struct metrics_sample *s, size_t n,
    char err[METRICS_ERROR_MAX]);

/*
 * The snapshot process's file beside metrics_file: "x.prom" gives
 * "x-snapshot.prom", anything else gets "-snapshot" appended (the
 * textfile collector reads only *.prom). -1 if it does not fit.
 */
int metrics_snapshot_path(const char *metrics_file, char *buf, size_t len);

/* What the snapshot loop (authrelayd's snapshot process or --sync) knows. */
struct snapshot_metrics {
	double age_seconds;	/* how old the data the files hold is */
	uint64_t base_relays;	/* relays in the current base */
	uint64_t delta_rows;	/* rows in the current delta */
	int64_t delta_write_ms;	/* the last delta write took */
	int64_t rebase_ms;	/* the last base rebuild took */
	uint64_t fetch_rows;	/* rows fetched from the database, in total */
	uint64_t fetches;	/* change fetches, in total */
	uint64_t delta_writes;	/* delta files written, in total */
	uint64_t rebases;	/* bases rebuilt, in total */
};

/*
 * Write sm as authrelay_snapshot_* metrics to the snapshot file beside
 * metrics_file (metrics_snapshot_path). Returns 0, or -1 with err set.
 */
int metrics_write_snapshot(const char *metrics_file,
    const struct snapshot_metrics *sm, char err[METRICS_ERROR_MAX]);

#endif
