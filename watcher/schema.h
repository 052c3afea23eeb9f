/* schema.h - which database schema the programs speak, and what to say about another. */
#ifndef AUTHRELAY_SCHEMA_H
#define AUTHRELAY_SCHEMA_H

#include <stddef.h>

/* The version sql/schema.sql makes; what authrelayd and authrelayctl use. */
#define SCHEMA_VERSION 2
/* One row: the version in place (0 when the table is empty). */
#define SCHEMA_VERSION_SQL "SELECT coalesce(max(version), 0) FROM schema_version"
/* Where make install puts sql/ (PREFIX /usr/local). */
#define SCHEMA_SQLDIR "/usr/local/share/authrelay/sql"

/*
 * One line saying why a database at version found (0: no schema, or
 * schema_version unreadable) will not do, with the command that fixes
 * it, for database dbname.
 */
void schema_problem(int found, const char *dbname, char *buf, size_t len);

#endif
