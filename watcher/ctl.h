/* ctl.h - authrelayctl subcommands, one function each. */
#ifndef AUTHRELAY_CTL_H
#define AUTHRELAY_CTL_H

#include "config.h"

/* Each returns the process exit status. argv[0] is the subcommand. */
int ctl_parse(const struct config *cfg, int argc, char **argv);
int ctl_parse_test(const struct config *cfg, int argc, char **argv);
int ctl_list(const struct config *cfg, int argc, char **argv);
int ctl_allow(const struct config *cfg, int argc, char **argv);
int ctl_revoke(const struct config *cfg, int argc, char **argv);
int ctl_check(const struct config *cfg, int argc, char **argv);
int ctl_expire(const struct config *cfg, int argc, char **argv);
int ctl_audit(const struct config *cfg, int argc, char **argv);
int ctl_audit_maintain(const struct config *cfg, int argc, char **argv);
int ctl_stats(const struct config *cfg, int argc, char **argv);
int ctl_export_cdb(const struct config *cfg, int argc, char **argv);
int ctl_verify(const struct config *cfg, int argc, char **argv);

int ctl_tags(const struct config *cfg, int argc, char **argv);

/*
 * The parser directory: -p's, else the configured one. When that is the
 * compiled-in default and does not exist, and this program runs from a
 * build tree (bin/ beside Makefile and parsers/, neither writable by
 * others), the tree's parsers/ with a note on stderr; otherwise a
 * missing directory gets a hint saying what to pass.
 */
const char *ctl_parsers_dir(const struct config *cfg, const char *from_option);

/* pgpass_check for authrelayctl: 1 (and a message) when refused. */
int ctl_pgpass_refused(const char *conninfo);

/* Write s as a JSON string (with quotes) to f. */
void ctl_json_string(void *stdio_file, const char *s);

#endif
