/* config.h - authrelay.conf: one table of keys shared by every program. */
#ifndef AUTHRELAY_CONFIG_H
#define AUTHRELAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define CONFIG_DEFAULT_PATH "/etc/authrelay/authrelay.conf"
/* The parsers key's default (make install's PREFIX=/usr/local place). */
#define CONFIG_DEFAULT_PARSERS "/usr/local/share/authrelay/parsers"
#define CONFIG_ERROR_MAX 512
/*
 * A line holds at most CONFIG_LINE_MAX bytes before its newline, a value
 * at most CONFIG_VALUE_MAX and a networks key at most CONFIG_NETWORKS_MAX
 * items: whatever loads, config_dump prints in lines that load again.
 */
#define CONFIG_LINE_MAX 65535
#define CONFIG_VALUE_MAX 65500
#define CONFIG_NETWORKS_MAX 1024

/* A whitespace- or comma-separated list of words. */
struct config_list {
	char **items;
	size_t count;
};

struct config_cidrs {
	struct ipcidr *items;
	size_t count;
};

struct config {
	/* watcher input */
	char *fifo;		/* path, or "-" for standard input */
	int confirm;		/* omprog confirmMessages: ack after commit */
	char *confirm_journal;	/* deferred lines kept for a restart; empty = none */
	char *input_format;	/* syslog | trusted */
	char *parsers;		/* directory of *.conf parser files */
	struct config_list enable;	/* families; "all" = every file */
	struct config_list services;	/* services that may open the relay */
	struct config_cidrs never_relay;
	/* recording */
	char *database;		/* libpq conninfo; empty = none */
	int64_t expire_ms;
	int64_t sweep_interval_ms;
	int64_t queue_max;
	int64_t batch_max;
	char *user;		/* drop to this user when started as root */
	char *pidfile;
	char *on_change;	/* program run on grant/expire/revoke */
	int64_t audit_keep_ms;	/* login_event retention; 0 = for ever */
	int64_t audit_interval_ms;	/* how often partitions are kept up */
	char *metrics_file;	/* Prometheus textfile; empty = none */
	/* cdb snapshot and auth-wrap */
	char *cdb_file;		/* relay snapshot; empty = none */
	int64_t cdb_interval_ms;
	int64_t cdb_max_age_ms;
	char *tcp_rules;	/* static tcprules source to merge */
	char *tcp_cdb;		/* merged tcpserver -x file; empty = none */
	char *postfix_map;	/* Postfix check_client_access cdb; empty = none */
	struct config_list lookup;	/* cdb, db */
	char *lookup_database;	/* auth-wrap's SELECT-only conninfo */
	int64_t lookup_deadline_ms;
	char *relayclient;	/* value RELAYCLIENT gets */
	int relayuser;		/* also set RELAYUSER */
	/* trust (rsyslog trusted-properties input) */
	int require_trusted;
	struct config_list trusted_uids;	/* family:uid pairs */
	int64_t max_clock_skew_ms;
};

/*
 * Read path into cfg (defaults first, then the file). A missing file is
 * an error unless missing_ok. A duration outside its key's sane range
 * (see authrelay.conf(5)) is an error. On error returns -1 with a one-line
 * "file:line: what" message in error_r.
 */
int config_load(const char *path, int missing_ok, struct config *cfg,
    char error_r[CONFIG_ERROR_MAX]);

/* Defaults only, no file. */
void config_defaults(struct config *cfg);

/* Does cfg ask for any snapshot file (cdb_file, tcp_cdb, postfix_map)? */
int config_writes_snapshot(const struct config *cfg);

/* Release everything config_load allocated. */
void config_free(struct config *cfg);

/* Path from -c, else $AUTHRELAY_CONF, else CONFIG_DEFAULT_PATH. */
const char *config_path(const char *from_option);

/* Is word in list? */
int config_list_has(const struct config_list *list, const char *word);

/*
 * Parse a duration: a whole number with unit ms, s, m, h or d (no unit:
 * seconds). Returns milliseconds, or -1 if malformed or out of range.
 */
int64_t config_parse_duration(const char *s);

/* Address is special (ipaddr_is_special) or inside never_relay; why_r. */
int config_never_relay(const struct config *cfg, const struct ipaddr *addr,
    const char **why_r);

/* Print every key with its current value, in file syntax. */
void config_dump(const struct config *cfg, void *stdio_file);

#endif
