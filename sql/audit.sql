-- audit.sql - documented queries over authrelay's audit trail (psql only).
--
-- Pick one query with -v q=NAME and give its variables with -v:
--
--   psql -X -v q=relay_at -v ip=192.0.2.10 -v at='2026-11-23 14:05:00+00' \
--        -f sql/audit.sql
--
--   q=relay_at      who could relay from address :ip at time :at
--   q=user_logins   every login of user :user (with outcome and reason)
--   q=top_ips       addresses with the most logins in a period
--   q=shared_users  users seen from at least :min_ips addresses in a period
--   q=ignored       ignored logins grouped by reason in a period
--   q=active        relays active now
--
-- Periods are [:from, :to); both default to all time (-infinity and
-- infinity). :limit (top_ips, default 20), :min_ips (shared_users,
-- default 3) and :span (relay_at, default '1 day') are optional. Times are anything timestamptz accepts
-- ('2026-11-23 14:05', '2026-11-23T14:05:00Z', 'now'); a time without
-- a zone is read in the session's TimeZone.
--
-- Without q the list above is printed. To copy and paste a query into
-- an interactive psql instead, \set its variables first:
--   \set ip 192.0.2.10
--   \set at '2026-11-23 14:05'
--
-- login_event is partitioned by day (sql/schema.sql). Each query bounds
-- 'at' by constants, so PostgreSQL opens only the partitions of the
-- period asked for (partition pruning) and, in them, the index on
-- (ip, at) or (username, at): give a period (:from, :to) on a large
-- trail. To see how a query runs, add
--   -v explain='EXPLAIN (ANALYZE, BUFFERS)'
-- which prints the plan instead of the rows.
--
-- Every value reaches the server through psql's :'name' quoting, which
-- makes it one properly escaped SQL literal that is then cast to its
-- type (inet, timestamptz, integer): a value cannot change the
-- statement, and a malformed one is an error, never a different query.
--
-- What the trail records (sql/schema.sql, table login_event): one row
-- per decision. outcome 'granted' (relay opened or extended until
-- expires_at), 'ignored' (reason says why: service, stale,
-- never_relay:CLASS), 'revoked' (authrelayctl revoke; username is then
-- 'admin:OPERATOR'). Rows written by authrelayctl have parser
-- 'authrelayctl' and service 'admin'; they are decisions, not logins,
-- and the login statistics below leave them out. 'at' is when the
-- watcher received the line (database clock), not the time the mail
-- server wrote in it; it is exact to a few milliseconds, so rows that
-- close together may be out of order, while id always gives the order
-- in which rows were written. Expiry by the sweeper writes no row:
-- expires_at of the granting row already says when the relay ended.
--
-- These queries need only SELECT on login_event and relay. The
-- authrelay_reader role of sql/roles.sql cannot read login_event, on
-- purpose; run them as the tables' owner, a member of authrelay_writer,
-- or a role made for auditors (GRANT SELECT ON login_event, relay TO
-- auditor).

\set ON_ERROR_STOP on
\if :{?q}
\else
\echo 'usage: psql -v q=NAME [-v VAR=VALUE ...] -f audit.sql'
\echo '  relay_at      -v ip=ADDRESS -v at=TIME'
\echo '  user_logins   -v user=NAME [-v from=TIME] [-v to=TIME]'
\echo '  top_ips       [-v from=TIME] [-v to=TIME] [-v limit=N]'
\echo '  shared_users  [-v from=TIME] [-v to=TIME] [-v min_ips=N]'
\echo '  ignored       [-v from=TIME] [-v to=TIME]'
\echo '  active'
\quit
\endif
\if :{?from}
\else
\set from '-infinity'
\endif
\if :{?to}
\else
\set to 'infinity'
\endif
\if :{?limit}
\else
\set limit 20
\endif
\if :{?min_ips}
\else
\set min_ips 3
\endif
\if :{?span}
\else
\set span '1 day'
\endif
\if :{?explain}
\else
\set explain ''
\endif

-- One boolean per query, set by the server: \if cannot compare text.
SELECT :'q' = 'relay_at' AS q_relay_at,
       :'q' = 'user_logins' AS q_user_logins,
       :'q' = 'top_ips' AS q_top_ips,
       :'q' = 'shared_users' AS q_shared_users,
       :'q' = 'ignored' AS q_ignored,
       :'q' = 'active' AS q_active,
       :'q' NOT IN ('relay_at', 'user_logins', 'top_ips', 'shared_users',
                    'ignored', 'active') AS q_unknown
\gset

\if :q_unknown
-- A server error, so that psql stops and exits with status 3.
DO $$
BEGIN
	RAISE EXCEPTION 'audit.sql: unknown q (want relay_at, user_logins, top_ips, shared_users, ignored or active)';
END
$$;
\endif

-- The variables a query cannot do without.
\set have_vars true
\if :q_relay_at
\if :{?ip}
\else
\set have_vars false
\endif
\if :{?at}
\else
\set have_vars false
\endif
\endif
\if :q_user_logins
\if :{?user}
\else
\set have_vars false
\endif
\endif
\if :have_vars
\else
DO $$
BEGIN
	RAISE EXCEPTION 'audit.sql: missing variable (relay_at needs -v ip=ADDRESS -v at=TIME, user_logins needs -v user=NAME)';
END
$$;
\endif

\if :q_relay_at
-- (a) Who could relay from address :ip at time :at?
--
-- Every grant whose window [at, expires_at) contains :at, unless a
-- 'revoked' row for the same address was recorded after that grant
-- (higher id: ids follow the order in which rows were written, even
-- when a grant waited in the watcher's queue) and at or before :at.
-- An IPv4-mapped address (::ffff:192.0.2.10) is looked up as IPv4,
-- the form the watcher stores.
--
-- Several rows mean several logins kept the relay open; the last one
-- names the user the relay was attributed to at :at. An empty answer
-- means no recorded grant covered that moment. A later
-- 'authrelayctl allow IP DURATION' may have shortened a window; the
-- query then still counts the longer one (it errs towards "could").
--
-- Only grants made less than :span before :at are read (the partitions
-- of those days): no relay lives longer than the larger of expire and
-- one day ('authrelayctl allow' grants at most that), so the default
-- '1 day' is exact unless your expire is longer; then pass
-- -v span=EXPIRE (for example -v span='7 days').
--
-- The address and times are worked out first, so that the query below
-- holds them as constants and PostgreSQL picks the partitions while it
-- plans (an expression such as :at - :span would only be pruned when
-- the query runs, after planning every older day). A revoke written
-- after the grant cannot be much older than it (its statement may have
-- waited for the grant's lock): an hour of margin keeps that bound safe.
SELECT CASE WHEN family(a) = 6 AND a <<= '::ffff:0:0/96'::inet
            THEN replace(host(a), '::ffff:', '')
            ELSE host(a) END AS relay_ip,
       t AS relay_at,
       t - :'span'::interval AS relay_since,
       t - :'span'::interval - interval '1 hour' AS relay_revokes_since
FROM (SELECT :'ip'::inet AS a, :'at'::timestamptz AS t) AS given
\gset
:explain
SELECT g.username AS user,
       host(g.ip) AS ip,
       g.at AS granted_at,
       g.expires_at,
       g.parser,
       g.service,
       g.redelivered
FROM login_event AS g
WHERE g.ip = :'relay_ip'::inet
  AND g.outcome = 'granted'
  AND g.at <= :'relay_at'::timestamptz
  AND g.at > :'relay_since'::timestamptz
  AND :'relay_at'::timestamptz < g.expires_at
  AND NOT EXISTS (
	SELECT 1 FROM login_event AS r
	WHERE r.ip = g.ip
	  AND r.outcome = 'revoked'
	  AND r.id > g.id
	  AND r.at <= :'relay_at'::timestamptz
	  AND r.at > :'relay_revokes_since'::timestamptz)
ORDER BY g.at, g.id;
\endif

\if :q_user_logins
-- (b) Every login of user :user in [:from, :to), oldest first, with
-- the decision: granted (and until when), or ignored and why.
-- User names are compared exactly as the mail server logged them
-- ('alice' and 'alice@example.org' are different users).
:explain
SELECT at,
       host(ip) AS ip,
       parser,
       service,
       outcome,
       coalesce(reason, '') AS reason,
       expires_at,
       redelivered
FROM login_event
WHERE username = :'user'
  AND at >= :'from'::timestamptz
  AND at < :'to'::timestamptz
ORDER BY at, id;
\endif

\if :q_top_ips
-- (c) The :limit addresses with the most logins in [:from, :to).
-- users counts distinct user names; many users behind one address is
-- normal for NAT and proxies, and a reason to check never_relay if the
-- address is one of your own.
:explain
SELECT host(ip) AS ip,
       count(*) AS logins,
       count(*) FILTER (WHERE outcome = 'granted') AS granted,
       count(*) FILTER (WHERE outcome = 'ignored') AS ignored,
       count(DISTINCT username) AS users,
       min(at) AS first,
       max(at) AS last
FROM login_event
WHERE outcome IN ('granted', 'ignored')
  AND parser <> 'authrelayctl'
  AND at >= :'from'::timestamptz
  AND at < :'to'::timestamptz
GROUP BY ip
ORDER BY logins DESC, ip
LIMIT :'limit'::integer;
\endif

\if :q_shared_users
-- (d) Users seen from at least :min_ips addresses in [:from, :to):
-- possible credential sharing or theft. networks counts distinct /24
-- (IPv4) or /48 (IPv6) networks, so a phone moving inside its
-- carrier's range stands out less than logins from unrelated networks.
-- Every successful login counts, granted or ignored.
:explain
SELECT username AS user,
       count(DISTINCT ip) AS ips,
       count(DISTINCT network(set_masklen(ip,
             CASE family(ip) WHEN 4 THEN 24 ELSE 48 END))) AS networks,
       count(*) AS logins,
       min(at) AS first,
       max(at) AS last,
       string_agg(DISTINCT host(ip), ' ' ORDER BY host(ip)) AS addresses
FROM login_event
WHERE outcome IN ('granted', 'ignored')
  AND parser <> 'authrelayctl'
  AND at >= :'from'::timestamptz
  AND at < :'to'::timestamptz
GROUP BY username
HAVING count(DISTINCT ip) >= :'min_ips'::integer
ORDER BY ips DESC, networks DESC, username;
\endif

\if :q_ignored
-- (e) Ignored logins in [:from, :to), by reason. Reasons:
--   service             the service is not in the services key
--   never_relay:CLASS   the address never relays; CLASS is loopback,
--                       link-local, multicast, broadcast, unspecified,
--                       ipv4-compatible (built in) or never_relay (the
--                       key's own list)
--   stale               the login waited longer than expire in the
--                       watcher's queue (database outage)
:explain
SELECT coalesce(reason, '') AS reason,
       count(*) AS logins,
       count(DISTINCT ip) AS ips,
       count(DISTINCT username) AS users,
       min(at) AS first,
       max(at) AS last
FROM login_event
WHERE outcome = 'ignored'
  AND at >= :'from'::timestamptz
  AND at < :'to'::timestamptz
GROUP BY reason
ORDER BY logins DESC, reason;
\endif

\if :q_active
-- (f) Relays active now, soonest to expire first. Rows whose expiry
-- has passed but that the sweeper has not deleted yet are not active
-- (auth-wrap compares expires_at with the time too).
:explain
SELECT host(ip) AS ip,
       username AS user,
       parser,
       service,
       first_seen,
       last_seen,
       expires_at,
       date_trunc('second', expires_at - now()) AS remaining,
       logins
FROM relay
WHERE expires_at > now()
ORDER BY expires_at, ip;
\endif
