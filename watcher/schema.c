/* schema.c - which database schema the programs speak, and what to say about another. */
#include <stdio.h>

#include "schema.h"

void
schema_problem(int found, const char *dbname, char *buf, size_t len)
{
	if (found > 0 && found < SCHEMA_VERSION)
		snprintf(buf, len, "database schema version %d, this program needs %d: "
		    "stop authrelayd, then as the tables' owner run "
		    "psql -X -v ON_ERROR_STOP=1 -d %s -f %s/upgrade-%d-%d.sql "
		    "(and %s/roles.sql if you use its roles)", found, SCHEMA_VERSION,
		    dbname, SCHEMA_SQLDIR, found, found + 1, SCHEMA_SQLDIR);
	else if (found > SCHEMA_VERSION)
		snprintf(buf, len, "database schema version %d is newer than this "
		    "program knows (%d): install the authrelay that made it",
		    found, SCHEMA_VERSION);
	else
		snprintf(buf, len, "no authrelay schema found (schema_version missing or "
		    "unreadable): as the tables' owner run psql -X -v ON_ERROR_STOP=1 "
		    "-d %s -f %s/schema.sql, then %s/roles.sql if you use its roles",
		    dbname, SCHEMA_SQLDIR, SCHEMA_SQLDIR);
}
