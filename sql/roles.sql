-- roles.sql - least-privilege roles for authrelay. Idempotent: safe to apply again.
-- Apply after schema.sql, as the tables' owner or a superuser, in the
-- database and schema that hold the tables:
--   psql -X -v ON_ERROR_STOP=1 -d authrelay -f sql/roles.sql
--
-- Two group roles, without LOGIN and without passwords:
--
--   authrelay_writer  authrelayd (watcher, sweeper, cdb export) and
--                     authrelayctl: SELECT, INSERT, UPDATE, DELETE on
--                     relay; SELECT, INSERT on login_event (the audit
--                     trail is append-only: no UPDATE, no DELETE);
--                     USAGE on login_event's id sequence; SELECT on
--                     schema_version (both programs refuse a schema
--                     they do not know); EXECUTE on
--                     authrelay_audit_maintain (creates and drops
--                     login_event's day partitions with its owner's
--                     rights; it keeps at least one day, so the writer
--                     can shorten the retention to a day, never empty
--                     today's trail).
--   authrelay_reader  auth-wrap with lookup = db (lookup_database), and
--                     'authrelayd --sync' on SMTP hosts: SELECT on relay
--                     and nothing else. auth-wrap runs as the SMTP
--                     server's user, and whatever it can read qmail-smtpd
--                     can read, so it must not see the audit trail (who
--                     logged in from where) nor change relays.
--
-- Every apply first takes all table privileges from both roles and then
-- grants exactly the ones above, so it also repairs hand-made grants.
--
-- Log in without passwords: map operating-system users to login roles
-- that are members of these groups, over the local UNIX socket with
-- peer authentication (the kernel tells the server the client's uid, so
-- there is no secret to protect). For example, with the watcher running
-- as the OS user 'authrelay' and qmail-smtpd (auth-wrap) as 'qmaild':
--
--   CREATE ROLE authrelayd LOGIN IN ROLE authrelay_writer;
--   CREATE ROLE authwrap LOGIN IN ROLE authrelay_reader;
--   CREATE ROLE authrelaysync LOGIN IN ROLE authrelay_reader;
--     (for 'authrelayd --sync' on other hosts: over TCP, see below)
--
--   pg_hba.conf (before any broader 'local' line; first match wins):
--     local  authrelay  authrelayd,authwrap  peer map=authrelay
--   pg_ident.conf:
--     authrelay  authrelay  authrelayd
--     authrelay  qmaild     authwrap
--   then: SELECT pg_reload_conf();
--
--   authrelay.conf:
--     database = host=/run/postgresql dbname=authrelay user=authrelayd
--     lookup_database = host=/run/postgresql dbname=authrelay user=authwrap
--
-- A login role gets its group's privileges through INHERIT (the
-- default). An administrator running authrelayctl maps her own OS user
-- to a member of authrelay_writer the same way. A database on another
-- host needs sslmode=verify-full and SCRAM or client certificates, with
-- any password in a mode 0600 passfile (PGPASSFILE) owned by the service
-- user, never in authrelay.conf, which auth-wrap's user can read.
--
-- Before PostgreSQL 15 every role may CREATE in schema public; on such
-- servers also run REVOKE CREATE ON SCHEMA public FROM PUBLIC in a
-- database that serves only authrelay.

BEGIN;

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authrelay_writer') THEN
		CREATE ROLE authrelay_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authrelay_reader') THEN
		CREATE ROLE authrelay_reader NOLOGIN;
	END IF;
	-- The schema and sequence are looked up, not assumed: the tables are
	-- wherever schema.sql created them (the first schema on search_path).
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO authrelay_writer, authrelay_reader',
	    (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	     WHERE c.oid = 'relay'::regclass));
	EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM authrelay_writer, authrelay_reader',
	    pg_get_serial_sequence('login_event', 'id'));
	EXECUTE format('GRANT USAGE ON SEQUENCE %s TO authrelay_writer',
	    pg_get_serial_sequence('login_event', 'id'));
END
$$;

REVOKE ALL ON TABLE relay, login_event, schema_version, relay_tombstone,
	authrelay_instance FROM authrelay_writer, authrelay_reader;

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE relay TO authrelay_writer;
GRANT SELECT, INSERT ON TABLE login_event TO authrelay_writer;
-- revoking (the trigger) and sweeping tombstones; reading the snapshot
GRANT SELECT, INSERT, DELETE ON TABLE relay_tombstone TO authrelay_writer;
GRANT SELECT, UPDATE (heartbeat) ON TABLE authrelay_instance TO authrelay_writer;
GRANT SELECT ON TABLE schema_version TO authrelay_writer;

REVOKE ALL ON FUNCTION authrelay_audit_maintain(interval, integer),
	authrelay_audit_maintain_at(interval, integer, timestamptz)
	FROM authrelay_writer, authrelay_reader;
GRANT EXECUTE ON FUNCTION authrelay_audit_maintain(interval, integer)
	TO authrelay_writer;

GRANT SELECT ON TABLE relay, relay_tombstone, authrelay_instance
	TO authrelay_reader;

COMMIT;
