/* snapverify.h - compare the snapshot files with the relay table: what auth-wrap would decide. */
#ifndef AUTHRELAY_SNAPVERIFY_H
#define AUTHRELAY_SNAPVERIFY_H

#include <stdio.h>

#include <libpq-fe.h>

#include "config.h"

/*
 * Every active relay must be granted by the base and delta together
 * (the delta's record decides where it has one), and no address may be
 * granted there that is not active now; the merged tcp_cdb must hold
 * each relay's record unless a static rule decides, and no others.
 * Prints one line per difference to report; returns their number, or
 * -1 when a file or the database cannot be read (reason printed).
 */
int snapverify_run(PGconn *conn, const struct config *cfg, FILE *report);

#endif
