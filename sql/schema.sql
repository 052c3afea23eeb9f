-- schema.sql - authrelay's tables. Idempotent: safe to apply again.
-- psql -v ON_ERROR_STOP=1 -f sql/schema.sql
--
-- Addresses are stored as single-host inet values in canonical form
-- (what lib/ipaddr.c produces): the constraints refuse networks such as
-- 0.0.0.0/0 and IPv4-mapped IPv6, so no stored row can ever match more
-- than the one address it names. Lookups compare with =, never <<=.

BEGIN;

CREATE TABLE IF NOT EXISTS schema_version (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- The version in place is max(version). This file makes version 2 and
-- refuses to run over any other: an older database is upgraded by its
-- script (sql/upgrade-1-2.sql), which keeps every row.
DO $$
DECLARE
	v integer := (SELECT max(version) FROM schema_version);
BEGIN
	IF v = 1 THEN
		RAISE EXCEPTION 'authrelay schema version 1 is in place; upgrade it with: psql -X -v ON_ERROR_STOP=1 -f sql/upgrade-1-2.sql';
	ELSIF v <> 2 THEN
		RAISE EXCEPTION 'authrelay schema version % is in place; this schema.sql makes version 2', v;
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION authrelay_is_host(a inet) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT masklen(a) = CASE family(a) WHEN 4 THEN 32 ELSE 128 END
	   AND NOT (family(a) = 6 AND a <<= '::ffff:0:0/96'::inet)
$$;

-- One row per address that may relay now (or until the sweeper runs:
-- lookups must also test expires_at > now()).
CREATE TABLE IF NOT EXISTS relay (
	ip         inet PRIMARY KEY CHECK (authrelay_is_host(ip)),
	username   text NOT NULL CHECK (length(username) BETWEEN 1 AND 255),
	parser     text NOT NULL,
	service    text NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	logins     bigint NOT NULL DEFAULT 1 CHECK (logins >= 0)
);
CREATE INDEX IF NOT EXISTS relay_expires_at ON relay (expires_at);

-- Change tracking for the snapshot (watcher/snapshot.c): every insert or
-- update stamps the row with its transaction id, and deleting a relay
-- that was still active leaves a tombstone until the relay would have
-- expired. A reader that remembers the snapshot of its last read
-- (pg_current_snapshot()) fetches only the rows and tombstones that read
-- did not see: work per change, not per table. Expired rows need no
-- tombstone: every copy of them has expired too (expiry only grows).
ALTER TABLE relay ADD COLUMN IF NOT EXISTS txid xid8;
CREATE INDEX IF NOT EXISTS relay_txid ON relay (txid);
CREATE TABLE IF NOT EXISTS relay_tombstone (
	ip         inet NOT NULL CHECK (authrelay_is_host(ip)),
	revoked_at timestamptz NOT NULL DEFAULT now(),
	purge_at   timestamptz NOT NULL,
	txid       xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS relay_tombstone_txid ON relay_tombstone (txid);
CREATE INDEX IF NOT EXISTS relay_tombstone_ip ON relay_tombstone (ip);
CREATE INDEX IF NOT EXISTS relay_tombstone_purge_at ON relay_tombstone (purge_at);

CREATE OR REPLACE FUNCTION authrelay_relay_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.txid := pg_current_xact_id();
	RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS relay_stamp ON relay;
CREATE TRIGGER relay_stamp BEFORE INSERT OR UPDATE ON relay
	FOR EACH ROW EXECUTE FUNCTION authrelay_relay_stamp();

CREATE OR REPLACE FUNCTION authrelay_relay_tombstone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO relay_tombstone (ip, purge_at) VALUES (OLD.ip, OLD.expires_at);
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS relay_tombstone ON relay;
CREATE TRIGGER relay_tombstone AFTER DELETE ON relay
	FOR EACH ROW WHEN (OLD.expires_at > now())
	EXECUTE FUNCTION authrelay_relay_tombstone();
-- TRUNCATE revokes everything at once: one tombstone for 0.0.0.0 (never
-- a relay) tells every snapshot reader to start again from a new base.
-- Kept for two days, longer than any grant auth-wrap honours.
CREATE OR REPLACE FUNCTION authrelay_relay_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO relay_tombstone (ip, purge_at)
	VALUES ('0.0.0.0', now() + interval '2 days');
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS relay_truncated ON relay;
CREATE TRIGGER relay_truncated AFTER TRUNCATE ON relay
	FOR EACH STATEMENT EXECUTE FUNCTION authrelay_relay_truncated();

-- Which database a snapshot was read from: a base from another one (a
-- database dropped and created again, a restore) is never continued.
-- heartbeat: the writers' sweeper sets it each round, so that a reader
-- on a hot standby knows how current its copy is (replication lag counts
-- in the snapshot's age there).
CREATE TABLE IF NOT EXISTS authrelay_instance (id text PRIMARY KEY);
ALTER TABLE authrelay_instance ADD COLUMN IF NOT EXISTS heartbeat timestamptz;
INSERT INTO authrelay_instance (id)
	SELECT md5(random()::text || clock_timestamp()::text)
	WHERE NOT EXISTS (SELECT 1 FROM authrelay_instance);

-- rows of a version-1 database get their stamp
UPDATE relay SET txid = NULL WHERE txid IS NULL;

-- The audit trail: one row per decision the watcher or an admin made.
-- outcome: granted (relay opened or extended until expires_at),
-- ignored (reason says why: never_relay, service, ...), revoked.
-- redelivered marks an event that an at-least-once sender sent again:
-- line_hash (a 64-bit hash of the line as received) was already recorded.
--
-- Partitioned by time: one partition per UTC day, named
-- login_event_YYYYMMDD, created ahead and dropped whole once past the
-- retention (audit_keep) by authrelay_audit_maintain() below, which
-- authrelayd calls on a timer: no DELETE, no bloat. login_event_default
-- catches a row for which no day partition exists yet; the next
-- maintenance moves such rows into their day's partition. The primary
-- key must include the partition key, hence (id, at); id alone still
-- comes from one sequence and gives the order rows were written in.
CREATE TABLE IF NOT EXISTS login_event (
	id          bigserial NOT NULL,
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
CREATE TABLE IF NOT EXISTS login_event_default PARTITION OF login_event DEFAULT;
-- Indexes on the parent are created on every partition, present and
-- future. Rows arrive in time order, so a BRIN index serves the
-- time-range scans at a fraction of a B-tree's size and insert cost.
CREATE INDEX IF NOT EXISTS login_event_line_hash ON login_event (line_hash)
	WHERE line_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS login_event_ip_at ON login_event (ip, at);
CREATE INDEX IF NOT EXISTS login_event_user_at ON login_event (username, at);
CREATE INDEX IF NOT EXISTS login_event_at ON login_event USING brin (at);

-- The partition that holds the UTC day of t.
CREATE OR REPLACE FUNCTION authrelay_audit_partition(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT 'login_event_' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD')
$$;

-- Partition upkeep at the time now_at (tests pass a fake clock; the
-- watcher uses authrelay_audit_maintain below, which passes now()):
--   1. a partition for each UTC day from today to today + ahead, and for
--      each day the default partition holds rows of (they move there);
--   2. with keep > 0, drop every day partition whose whole day ended
--      keep or more before now_at, and delete such rows from the default
--      partition (normally empty).
-- One row per change: action (created, moved, dropped, deleted, busy),
-- the partition, and the rows concerned. Every step waits at most
-- lock_timeout (500 ms) for its lock and is skipped (busy) otherwise,
-- so a long audit query never makes the watcher's inserts queue behind
-- a waiting DROP; the next run tries again.
CREATE OR REPLACE FUNCTION authrelay_audit_maintain_at(keep interval,
    ahead integer, now_at timestamptz)
RETURNS TABLE (action text, part text, n bigint)
LANGUAGE plpgsql AS $$
DECLARE
	today date := (now_at AT TIME ZONE 'UTC')::date;
	d date;
	lo timestamptz;
	moved login_event[];
	cutoff timestamptz;
	c record;
BEGIN
	IF keep IS NULL OR keep < interval '0' OR ahead IS NULL OR ahead < 0 OR now_at IS NULL THEN
		RAISE EXCEPTION 'authrelay_audit_maintain: want keep >= 0 and ahead >= 0';
	END IF;
	PERFORM set_config('lock_timeout', '500ms', true);
	cutoff := CASE WHEN keep > interval '0' THEN now_at - keep END;
	FOR d IN
		SELECT g::date FROM generate_series(today, today + ahead, interval '1 day') AS g
		UNION
		SELECT DISTINCT (e.at AT TIME ZONE 'UTC')::date FROM login_event_default AS e
		WHERE cutoff IS NULL OR e.at >= cutoff
		ORDER BY 1
	LOOP
		part := authrelay_audit_partition(d::timestamp AT TIME ZONE 'UTC');
		CONTINUE WHEN to_regclass(part) IS NOT NULL;
		lo := d::timestamp AT TIME ZONE 'UTC';
		BEGIN
			-- Rows the default partition holds for the day go to the new
			-- partition in the same transaction (the CREATE checks that
			-- the default holds none of its range).
			WITH m AS (DELETE FROM login_event_default AS e
			           WHERE e.at >= lo AND e.at < lo + interval '1 day'
			           RETURNING e.*)
			SELECT array_agg(ROW(m.*)::login_event) INTO moved FROM m;
			EXECUTE format('CREATE TABLE %I PARTITION OF login_event '
			    'FOR VALUES FROM (%L) TO (%L)', part, lo, lo + interval '1 day');
			action := 'created';
			n := 0;
			RETURN NEXT;
			IF moved IS NOT NULL THEN
				INSERT INTO login_event SELECT * FROM unnest(moved);
				action := 'moved';
				n := cardinality(moved);
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN lock_not_available THEN
			action := 'busy';
			n := 0;
			RETURN NEXT;
		END;
	END LOOP;
	IF cutoff IS NULL THEN
		RETURN;
	END IF;
	FOR c IN
		SELECT k.relname::text AS name,
		       to_date(substr(k.relname, 13), 'YYYYMMDD') AS day
		FROM pg_inherits AS i JOIN pg_class AS k ON k.oid = i.inhrelid
		WHERE i.inhparent = 'login_event'::regclass
		  AND k.relname ~ '^login_event_[0-9]{8}$'
		ORDER BY 2
	LOOP
		CONTINUE WHEN (c.day + 1)::timestamp AT TIME ZONE 'UTC' > cutoff;
		part := c.name;
		BEGIN
			-- The planner's estimate: counting would read the whole day.
			n := (SELECT greatest(k.reltuples, 0)::bigint FROM pg_class AS k
			      WHERE k.oid = to_regclass(c.name));
			EXECUTE format('DROP TABLE %I', c.name);
			action := 'dropped';
		EXCEPTION WHEN lock_not_available THEN
			action := 'busy';
			n := 0;
		END;
		RETURN NEXT;
	END LOOP;
	DELETE FROM login_event_default AS e WHERE e.at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		action := 'deleted';
		part := 'login_event_default';
		RETURN NEXT;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION authrelay_audit_maintain_at(interval, integer, timestamptz)
	FROM PUBLIC;

-- What authrelayd (as authrelay_writer, see sql/roles.sql) and
-- authrelayctl audit-maintain call. It runs with its owner's rights
-- (the writer may not create or drop tables, nor delete audit rows) at
-- the database's own time, and never keeps less than one day: a writer
-- can shorten the retention to a day, not erase today's trail.
CREATE OR REPLACE FUNCTION authrelay_audit_maintain(keep interval, ahead integer)
RETURNS TABLE (action text, part text, n bigint)
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF keep IS NULL OR (keep <> interval '0' AND keep < interval '1 day')
	   OR ahead IS NULL OR ahead < 1 OR ahead > 366 THEN
		RAISE EXCEPTION 'authrelay_audit_maintain: want keep = 0 or at least 1 day, ahead 1 to 366 days';
	END IF;
	RETURN QUERY SELECT * FROM authrelay_audit_maintain_at(keep, ahead, now());
END
$$;
REVOKE ALL ON FUNCTION authrelay_audit_maintain(interval, integer) FROM PUBLIC;
-- A SECURITY DEFINER function must not find objects that its caller
-- planted: it sees only the schema holding the tables, then pg_temp.
DO $$
BEGIN
	EXECUTE format('ALTER FUNCTION authrelay_audit_maintain(interval, integer) '
	    'SET search_path = %I, pg_temp',
	    (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	     WHERE c.oid = 'login_event'::regclass));
	EXECUTE format('ALTER FUNCTION authrelay_audit_maintain_at(interval, integer, timestamptz) '
	    'SET search_path = %I, pg_temp',
	    (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	     WHERE c.oid = 'login_event'::regclass));
END
$$;
-- Today's partition and 3 days ahead (as authrelayd keeps them), from the
-- first apply on: few partitions, so that a query without a period plans
-- few tables too.
DO $$
BEGIN
	PERFORM authrelay_audit_maintain_at(interval '0', 3, now());
END
$$;

-- Hosts running 'authrelayd --sync' LISTEN on this channel to rebuild
-- their local cdb snapshot; one notification per changing statement.
CREATE OR REPLACE FUNCTION authrelay_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('authrelay_relay', TG_OP);
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS relay_changed ON relay;
CREATE TRIGGER relay_changed AFTER INSERT OR UPDATE OR DELETE ON relay
	FOR EACH STATEMENT EXECUTE FUNCTION authrelay_notify_change();

INSERT INTO schema_version (version) VALUES (2) ON CONFLICT DO NOTHING;

COMMIT;
