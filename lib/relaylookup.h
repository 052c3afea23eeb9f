/* relaylookup.h - may this client relay now? The one answer auth-wrap and authrelay-policy share. */
#ifndef AUTHRELAY_RELAYLOOKUP_H
#define AUTHRELAY_RELAYLOOKUP_H

#include <stddef.h>

#include "config.h"
#include "ipaddr.h"
#include "relaycdb.h"

enum relaylookup_found {
	RELAYLOOKUP_ERROR = -1,	/* no backend could answer: fail closed */
	RELAYLOOKUP_NONE = 0,	/* no active relay */
	RELAYLOOKUP_RELAY = 1,	/* an active relay: *e_r says whose */
};

#define RELAYLOOKUP_WHY_MAX 1024

/*
 * Look ip (canonical text of addr) up in the configured backends
 * (cfg->lookup: "cdb" = the base and delta snapshot files, "db" = a
 * SELECT through a dlopen()ed libpq), in order, until one answers.
 * never_relay addresses are NONE whatever a table says. Every step,
 * opening files included, runs under cfg->lookup_deadline_ms from the
 * call. The cdb backend links only libc and tinycdb; libpq is loaded
 * only when "db" is tried.
 *
 * Snapshot files are honoured only when they are regular files owned by
 * root or by cfg->user and not writable by group or others; the snapshot
 * must be younger than cfg->cdb_max_age_ms and its expiry is checked
 * exactly at the time of the call. On RELAYLOOKUP_ERROR, why holds one
 * line saying what failed for each backend.
 */
enum relaylookup_found relaylookup(const struct config *cfg,
    const struct ipaddr *addr, const char *ip, struct relaycdb_entry *e_r,
    char why[RELAYLOOKUP_WHY_MAX]);

/*
 * The checks the cdb backend makes on one open snapshot file: 0, or -1
 * with *why_r (static text). Shared with authrelayctl verify.
 */
int relaylookup_check_file(int fd, const struct config *cfg,
    const char **why_r);

#endif
