-- upgrade-1-2.sql - upgrade an authrelay database from schema version 1 to 2.
--
-- Stop authrelayd (and any 'authrelayctl' use) first, then, as the
-- tables' owner:
--
--   psql -X -v ON_ERROR_STOP=1 -d authrelay -f sql/upgrade-1-2.sql
--   psql -X -v ON_ERROR_STOP=1 -d authrelay -f sql/roles.sql   (if you use the roles)
--
-- and start the new authrelayd. Everything happens in one transaction:
-- on any error nothing has changed and the database is still at version
-- 1. The script refuses a database that is not at version 1; applying it
-- to a version-2 database is an error that changes nothing.
--
-- What changes (version 2):
--   login_event  partitioned by day (see sql/schema.sql); every row is
--                kept, with its id, and ids continue from the same
--                sequence. The rows are copied once: allow about the time
--                of a full-table copy plus its indexes (minutes for tens
--                of millions of rows) and twice the table's disk space
--                until the old table is dropped at the end.
--
-- The script ends by applying schema.sql inside the same transaction
-- (its own BEGIN and COMMIT then only warn and commit this one), which
-- builds the indexes, the maintenance functions and 3 days of future
-- partitions. It reads schema.sql from this file's directory.

\set ON_ERROR_STOP on
BEGIN;

DO $$
DECLARE
	v integer := (SELECT max(version) FROM schema_version);
BEGIN
	IF v IS DISTINCT FROM 1 THEN
		RAISE EXCEPTION 'upgrade-1-2.sql: the database is at schema version %, not 1: nothing to do', coalesce(v::text, '(none)');
	END IF;
END
$$;

-- Nobody writes while rows move: the copy below sees them all.
LOCK TABLE login_event IN ACCESS EXCLUSIVE MODE;

-- login_event: one table becomes a table partitioned by UTC day.
-- The old table is set aside with its sequence, which the new table
-- takes over (so ids keep growing); its indexes and key are dropped
-- first so their names are free (and the copy is faster without them).
ALTER TABLE login_event RENAME TO login_event_v1;
ALTER TABLE login_event_v1 DROP CONSTRAINT login_event_pkey;
DROP INDEX IF EXISTS login_event_line_hash, login_event_ip_at,
	login_event_user_at, login_event_at;
-- Constraint names are chosen unique in the schema: free them too.
ALTER TABLE login_event_v1 RENAME CONSTRAINT login_event_ip_check TO login_event_v1_ip_check;
ALTER TABLE login_event_v1 RENAME CONSTRAINT login_event_outcome_check TO login_event_v1_outcome_check;
-- The same definition as in schema.sql (tests/watcher/test-audit-upgrade.sh
-- checks that an upgraded table and a new one are alike).
CREATE TABLE login_event (
	id          bigint NOT NULL DEFAULT nextval('login_event_id_seq'),
	at          timestamptz NOT NULL,
	ip          inet NOT NULL CHECK (authrelay_is_host(ip)),
	username    text NOT NULL,
	parser      text NOT NULL,
	service     text NOT NULL,
	outcome     text NOT NULL CHECK (outcome IN ('granted', 'ignored', 'revoked')),
	reason      text,
	expires_at  timestamptz,
	redelivered boolean NOT NULL DEFAULT false,
	line_hash   bigint,
	PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE login_event_id_seq OWNED BY login_event.id;
CREATE TABLE login_event_default PARTITION OF login_event DEFAULT;
-- A partition for every UTC day that holds rows (the name and bounds
-- that schema.sql's authrelay_audit_partition() and maintenance use),
-- then one copy into them.
DO $$
DECLARE
	d date;
BEGIN
	FOR d IN SELECT DISTINCT (at AT TIME ZONE 'UTC')::date FROM login_event_v1 ORDER BY 1 LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF login_event FOR VALUES FROM (%L) TO (%L)',
		    'login_event_' || to_char(d, 'YYYYMMDD'),
		    d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	END LOOP;
END
$$;
INSERT INTO login_event (id, at, ip, username, parser, service, outcome,
	reason, expires_at, redelivered, line_hash)
SELECT id, at, ip, username, parser, service, outcome,
	reason, expires_at, redelivered, line_hash
FROM login_event_v1;
DROP TABLE login_event_v1;

-- relay: every row gets the id of the transaction that last wrote it (a
-- trigger), deleting an active relay leaves a tombstone, TRUNCATE leaves
-- one for everything, and authrelay_instance names the database: the
-- snapshot's change tracking (watcher/snapshot.c). schema.sql below makes
-- them (idempotently) and stamps the existing rows.

INSERT INTO schema_version (version) VALUES (2);

SET LOCAL client_min_messages = error;
\ir schema.sql
