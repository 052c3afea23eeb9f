/* postfixmap.c - write the active relays as a Postfix check_client_access cdb table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cdb.h>

#include "atomicfile.h"
#include "ipaddr.h"
#include "postfixmap.h"

long
postfixmap_write(const char *path, const struct postfixmap_entry *e,
    size_t n, int64_t now, char *err, size_t errlen)
{
	struct atomicfile af;
	struct cdb_make cm;
	long written = 0;

	if (atomicfile_open(&af, path, POSTFIXMAP_MODE, err, errlen) < 0)
		return -1;
	if (cdb_make_start(&cm, af.fd) < 0) {
		snprintf(err, errlen, "cdb_make_start(%s): %s", af.tmp,
		    strerror(errno));
		atomicfile_abort(&af);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char canon[IPADDR_TEXT_MAX];
		const char *why;
		size_t len = strlen(e[i].ip);

		if (ipaddr_canon(e[i].ip, len, canon, &why) < 0 ||
		    strcmp(canon, e[i].ip) != 0) {
			snprintf(err, errlen, "%s: not a canonical address",
			    e[i].ip);
			goto fail;
		}
		if (e[i].expires <= now)
			continue;
		if (cdb_make_add(&cm, e[i].ip, (unsigned)len, POSTFIXMAP_VALUE,
		    sizeof(POSTFIXMAP_VALUE) - 1) < 0) {
			snprintf(err, errlen, "write(%s): %s", af.tmp,
			    strerror(errno));
			goto fail;
		}
		written++;
	}
	if (cdb_make_finish(&cm) < 0) {
		snprintf(err, errlen, "write(%s): %s", af.tmp, strerror(errno));
		atomicfile_abort(&af);
		return -1;
	}
	return atomicfile_commit(&af, err, errlen) < 0 ? -1 : written;
fail:
	cdb_make_finish(&cm);	/* frees its tables; the file is dropped */
	atomicfile_abort(&af);
	return -1;
}
