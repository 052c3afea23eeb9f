-- schema-v1.sql - sql/schema.sql as shipped at schema version 1 (before
-- login_event was partitioned): tests/watcher/test-audit-upgrade.sh builds
-- a version-1 database from it to test sql/upgrade-1-2.sql. Do not edit.
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
