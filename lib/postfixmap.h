/* postfixmap.h - the active relays as a Postfix check_client_access table (cdb). */
#ifndef AUTHRELAY_POSTFIXMAP_H
#define AUTHRELAY_POSTFIXMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * For sites that prefer a map to authrelay-policy: a tinycdb file that
 * Postfix reads as "cdb:<path without .cdb>" (Debian: postfix-cdb) in
 *   smtpd_relay_restrictions = ..., check_client_access cdb:/var/lib/
 *       authrelay/postfix-relay, reject_unauth_destination
 * Records: key = canonical IP text (ipaddr_canon), no trailing NUL
 * (Postfix's cdb client tries keys with and without one); value "OK".
 *
 * A map has no exact expiry: Postfix answers OK until the file is
 * rewritten without the address, so the writer must rewrite it when a
 * relay is granted, revoked or expires (authrelay-policy compares the
 * expiry at every request instead). Postfix's smtpd notices a changed
 * table between connections.
 */
#define POSTFIXMAP_MODE 0644	/* smtpd (user postfix) reads it */
#define POSTFIXMAP_VALUE "OK"

struct postfixmap_entry {
	const char *ip;		/* canonical IP text */
	int64_t expires;	/* unix seconds */
};

/*
 * Replace path atomically (lib/atomicfile: temp, fsync, rename, fsync
 * the directory) with one record per entry that expires after now;
 * expired entries are left out (the relay table holds one row per
 * address; a repeated one would only repeat the record). ip must already
 * be canonical: anything ipaddr_canon would change is refused. Returns
 * the number of records written, or -1 with a "what: why" message in err
 * (path is then left as it was).
 */
long postfixmap_write(const char *path, const struct postfixmap_entry *e,
    size_t n, int64_t now, char *err, size_t errlen);

#endif
