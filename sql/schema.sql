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
CREATE TABLE IF NOT EXISTS login_event (
	id          bigserial PRIMARY KEY,
	at          timestamptz NOT NULL,
	ip          inet NOT NULL CHECK (authrelay_is_host(ip)),
	username    text NOT NULL,
	parser      text NOT NULL,
	service     text NOT NULL,
	outcome     text NOT NULL CHECK (outcome IN ('granted', 'ignored', 'revoked')),
	reason      text,
	expires_at  timestamptz,
	redelivered boolean NOT NULL DEFAULT false,
	line_hash   bigint
);
ALTER TABLE login_event ADD COLUMN IF NOT EXISTS line_hash bigint;
CREATE INDEX IF NOT EXISTS login_event_line_hash ON login_event (line_hash)
	WHERE line_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS login_event_ip_at ON login_event (ip, at);
CREATE INDEX IF NOT EXISTS login_event_user_at ON login_event (username, at);
CREATE INDEX IF NOT EXISTS login_event_at ON login_event (at);

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

INSERT INTO schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;

COMMIT;
