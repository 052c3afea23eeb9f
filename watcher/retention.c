/* retention.c - the watcher's upkeep of the audit trail: schema check, day partitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "retention.h"
#include "schema.h"

#define KEEP_MIN_MS INT64_C(86400000)
#define KEEP_MAX_MS (INT64_C(36500) * 86400000)
#define INTERVAL_MIN_MS INT64_C(1000)
#define INTERVAL_MAX_MS INT64_C(86400000)

void
retention_init(struct retention *r, int64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->next_ms = now_ms;
}

int
retention_check_config(const struct config *cfg, char *error, size_t len)
{
	if (cfg->audit_keep_ms != 0 && (cfg->audit_keep_ms < KEEP_MIN_MS ||
	    cfg->audit_keep_ms > KEEP_MAX_MS)) {
		snprintf(error, len, "audit_keep: want 0 (keep for ever) or 1d to 36500d");
		return -1;
	}
	if (cfg->audit_interval_ms < INTERVAL_MIN_MS ||
	    cfg->audit_interval_ms > INTERVAL_MAX_MS) {
		snprintf(error, len, "audit_interval: want 1s to 1d");
		return -1;
	}
	return 0;
}

void
retention_reload(struct retention *r, const struct config *cfg, int64_t now_ms)
{
	if (r->next_ms > now_ms + cfg->audit_interval_ms)
		r->next_ms = now_ms + cfg->audit_interval_ms;
}

static int
schema_ok(const struct store *st, const struct retention *r)
{
	return r->checked && r->session == store_session(st);
}

int
retention_start(struct retention *r, struct store *st,
    const struct config *cfg, int64_t now_ms)
{
	if (!schema_ok(st, r)) {
		store_send_version(st, now_ms);
		return 1;
	}
	if (now_ms < r->next_ms)
		return 0;
	r->next_ms = now_ms + cfg->audit_interval_ms;
	return store_send_maintain(st, cfg->audit_keep_ms, RETENTION_AHEAD_DAYS,
	    now_ms) == 0;
}

static int
handle_version(struct retention *r, struct store *st,
    const struct store_result *res)
{
	char why[512];
	int found = 0;

	if (!res->ok && !res->data_error)
		return 0;	/* connection trouble: asked again next session */
	if (res->ok && res->tuples != NULL && PQntuples(res->tuples) == 1)
		found = atoi(PQgetvalue(res->tuples, 0, 0));
	if (found == SCHEMA_VERSION) {
		r->checked = 1;
		r->session = store_session(st);
		log_debug("event=schema version=%d", found);
		return 0;
	}
	schema_problem(found, store_dbname(st), why, sizeof(why));
	log_err("event=fatal error=\"%s\"%s%s%s", why,
	    res->ok ? "" : " db_error=\"", res->ok ? "" : res->error,
	    res->ok ? "" : "\"");
	return -1;
}

int
retention_handle(struct retention *r, struct store *st,
    const struct store_result *res, int64_t now_ms)
{
	if (res->job == STORE_JOB_VERSION)
		return handle_version(r, st, res);
	if (!res->ok) {
		log_err("event=audit_maintain_failed error=\"%s\" retry_ms=%lld",
		    res->error, (long long)(r->next_ms - now_ms));
		return 0;
	}
	for (int i = 0; res->tuples != NULL && i < PQntuples(res->tuples); i++) {
		const char *action = PQgetvalue(res->tuples, i, 0);

		if (strcmp(action, "busy") == 0)
			log_warn("event=audit_partition action=busy partition=%s "
			    "note=\"lock not granted in time, retried next run\"",
			    PQgetvalue(res->tuples, i, 1));
		else
			log_info("event=audit_partition action=%s partition=%s rows=%s",
			    action, PQgetvalue(res->tuples, i, 1),
			    PQgetvalue(res->tuples, i, 2));
	}
	return 0;
}

int64_t
retention_next_ms(const struct retention *r, const struct store *st,
    int64_t now_ms)
{
	if (!schema_ok(st, r))
		return 0;
	return r->next_ms > now_ms ? r->next_ms - now_ms : 0;
}
