/* qmail-pop3d-hack.c - qmail-pop3d over Maildir that confirms a login to qmail-popup-hack. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "popio.h"
#include "poplog.h"

#define PROG "qmail-pop3d-hack"
#define MESSAGES_MAX 1000000	/* a bound on the listing's memory */
#define UIDL_MAX 70		/* RFC 1939 section 7 */
#define UIDL_HASH_BYTES 16	/* "sha256-" + 32 hex chars = 39 */
#define TMP_MAX_AGE 129600	/* qmail: unlink tmp/ files after 36 h */
#define NOTIFY_FD_MAX 1023
#define NUM_TEXT_MAX 32
#define FILE_CHUNK 8192
#define REPLY_MAX 128

enum subdir { SUB_NEW, SUB_CUR };

struct message {
	char *name;		/* file name inside new/ or cur/ */
	enum subdir dir;
	off_t size;		/* on-disk (LF) size, as qmail-pop3d */
	time_t mtime;
	int deleted;
	char uidl[UIDL_MAX + 1];
};

struct mailbox {
	int dirfd[2];		/* new/, cur/ */
	struct message *msgs;
	size_t count;
	size_t cap;
	uint64_t last;		/* qmail's LAST: highest deleted number */
};

static struct popio io;

static void
out(const char *s)
{
	if (popio_puts(&io, s) < 0)
		_exit(0);
}

static void
flush(void)
{
	if (popio_flush(&io) < 0)
		_exit(0);
}

static void
reply(const char *s)
{
	out(s);
	flush();
}

/* The unique part is the name up to ':'; use it as UIDL only if RFC-legal. */
static void
make_uidl(const char *name, char out_r[UIDL_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len = strcspn(name, ":"), i, o;
	int clean = len >= 1 && len <= UIDL_MAX;

	for (i = 0; clean && i < len; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			clean = 0;
	if (clean) {
		memcpy(out_r, name, len);
		out_r[len] = '\0';
		return;
	}
	/* Stable across sessions and the new/ -> cur/ rename. */
	EVP_Digest(name, len, md, &mdlen, EVP_sha256(), NULL);
	o = (size_t)snprintf(out_r, UIDL_MAX + 1, "sha256-");
	for (i = 0; i < UIDL_HASH_BYTES && i < mdlen; i++) {
		out_r[o++] = hex[md[i] >> 4];
		out_r[o++] = hex[md[i] & 15];
	}
	out_r[o] = '\0';
}

static int
add_message(struct mailbox *mb, const char *name, enum subdir dir,
    const struct stat *st)
{
	struct message *m;
	size_t ncap;

	if (mb->count == MESSAGES_MAX)
		return -1;
	if (mb->count == mb->cap) {
		ncap = mb->cap ? mb->cap * 2 : 64;
		m = reallocarray(mb->msgs, ncap, sizeof(*m));
		if (m == NULL)
			return -1;
		mb->msgs = m;
		mb->cap = ncap;
	}
	m = &mb->msgs[mb->count];
	m->name = strdup(name);
	if (m->name == NULL)
		return -1;
	m->dir = dir;
	m->size = st->st_size;
	m->mtime = st->st_mtime;
	m->deleted = 0;
	make_uidl(name, m->uidl);
	mb->count++;
	return 0;
}

/* Regular files only, never following a symlink; dot files skipped. */
static int
scan_dir(struct mailbox *mb, enum subdir dir)
{
	int fd = dup(mb->dirfd[dir]);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(mb->dirfd[dir], de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (add_message(mb, de->d_name, dir, &st) < 0) {
			closedir(d);
			return -1;
		}
	}
	if (errno != 0) {
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static int
cmp_message(const void *a, const void *b)
{
	const struct message *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* qmail's maildir_clean: old leftovers of failed deliveries go. */
static void
clean_tmp(void)
{
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	int fd;
	DIR *d;

	fd = open("tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now > st.st_atime + TMP_MAX_AGE)
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
}

static int
open_subdir(const char *name)
{
	return open(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The Maildir must be the user's own and not writable by others. */
static void
enter_maildir(const char *path)
{
	struct stat st;

	if (chdir(path) < 0)
		poplog_fatal(111, "unable to chdir to %s: %s", path,
		    strerror(errno));
	if (stat(".", &st) < 0)
		poplog_fatal(111, "unable to stat %s: %s", path,
		    strerror(errno));
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		poplog_fatal(111, "maildir %s is not owned by uid %lu or is "
		    "group/other-writable", path, (unsigned long)geteuid());
}

static void
scan_maildir(struct mailbox *mb)
{
	mb->dirfd[SUB_NEW] = open_subdir("new");
	mb->dirfd[SUB_CUR] = open_subdir("cur");
	if (mb->dirfd[SUB_NEW] < 0 || mb->dirfd[SUB_CUR] < 0)
		poplog_fatal(111, "unable to open new/ or cur/: %s",
		    strerror(errno));
	if (scan_dir(mb, SUB_NEW) < 0 || scan_dir(mb, SUB_CUR) < 0)
		poplog_fatal(111, "unable to scan maildir: %s",
		    strerror(errno));
	if (mb->count > 1)
		qsort(mb->msgs, mb->count, sizeof(*mb->msgs), cmp_message);
}

/*
 * Tell qmail-popup-hack (running as root) that this login is real. The
 * descriptor is never passed on: nothing we exec could forge it later.
 */
static void
notify_popup(void)
{
	const char *v = getenv("AUTHRELAY_NOTIFY_FD");
	struct stat st;
	char *end;
	long fd;
	ssize_t n;

	unsetenv("AUTHRELAY_NOTIFY_FD");
	if (v == NULL || *v < '0' || *v > '9')
		return;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 3 || fd > NOTIFY_FD_MAX)
		return;
	if (fstat((int)fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	do
		n = write((int)fd, "+", 1);
	while (n < 0 && errno == EINTR);
	close((int)fd);
}

/*
 * A message number: decimal digits only (no sign, no space, no junk),
 * no overflow. Returns 0 with *n_r, or -1.
 */
static int
parse_number(const char *s, size_t len, uint64_t *n_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*n_r = v;
	return 0;
}

/* Resolve a message-number argument; replies itself on error. */
static struct message *
lookup(struct mailbox *mb, const char *arg, size_t len, uint64_t *num_r)
{
	uint64_t n;

	if (parse_number(arg, len, &n) < 0) {
		reply("-ERR syntax error\r\n");
		return NULL;
	}
	if (n == 0) {
		reply("-ERR messages are counted from 1\r\n");
		return NULL;
	}
	if (n > mb->count) {
		reply("-ERR not that many messages\r\n");
		return NULL;
	}
	if (mb->msgs[n - 1].deleted) {
		reply("-ERR already deleted\r\n");
		return NULL;
	}
	if (num_r != NULL)
		*num_r = n;
	return &mb->msgs[n - 1];
}

static void
cmd_stat(struct mailbox *mb)
{
	char text[REPLY_MAX];
	uint64_t n = 0, total = 0;
	size_t i;

	/* RFC 1939: deleted messages count in neither total. */
	for (i = 0; i < mb->count; i++) {
		if (mb->msgs[i].deleted)
			continue;
		n++;
		total += (uint64_t)mb->msgs[i].size;
	}
	snprintf(text, sizeof(text), "+OK %llu %llu\r\n",
	    (unsigned long long)n, (unsigned long long)total);
	reply(text);
}

static void
list_line(const struct message *m, size_t num, int uidl, int single)
{
	char text[REPLY_MAX];

	if (uidl)
		snprintf(text, sizeof(text), "%s%zu %s\r\n", single ? "+OK " :
		    "", num, m->uidl);
	else
		snprintf(text, sizeof(text), "%s%zu %lld\r\n", single ?
		    "+OK " : "", num, (long long)m->size);
	out(text);
}

static void
cmd_list(struct mailbox *mb, const char *arg, size_t len, int uidl)
{
	struct message *m;
	uint64_t n;
	size_t i;

	if (len > 0) {
		m = lookup(mb, arg, len, &n);
		if (m != NULL) {
			list_line(m, (size_t)n, uidl, 1);
			flush();
		}
		return;
	}
	out("+OK \r\n");
	for (i = 0; i < mb->count; i++)
		if (!mb->msgs[i].deleted)
			list_line(&mb->msgs[i], i + 1, uidl, 0);
	reply(".\r\n");
}

/* State of one message being sent line by line. */
struct blast {
	int at_line_start;
	int pending_cr;		/* a CR whose follower is not seen yet */
	int in_body;
	int line_empty;
	uint64_t body_lines_left;
	int limited;
};

static void
end_line(struct blast *b)
{
	out("\r\n");
	if (b->in_body)
		b->body_lines_left--;
	else if (b->line_empty)
		b->in_body = 1;
	b->at_line_start = 1;
	b->line_empty = 1;
}

/* Returns 0 to go on, 1 when TOP's limit is reached. */
static int
blast_byte(struct blast *b, char c)
{
	if (b->limited && b->in_body && b->body_lines_left == 0)
		return 1;
	if (c == '\n') {
		b->pending_cr = 0;	/* CRLF in the file stays one CRLF */
		end_line(b);
		return 0;
	}
	if (b->pending_cr) {
		/* A CR inside a line is content. */
		out("\r");
		b->pending_cr = 0;
		b->at_line_start = 0;
		b->line_empty = 0;
	}
	if (c == '\r') {
		b->pending_cr = 1;
		return 0;
	}
	if (b->at_line_start && c == '.')
		out(".");	/* byte-stuffing */
	b->at_line_start = 0;
	b->line_empty = 0;
	if (popio_put(&io, &c, 1) < 0)
		_exit(0);
	return 0;
}

static int
open_message(struct mailbox *mb, const struct message *m)
{
	struct stat st;
	int fd = openat(mb->dirfd[m->dir], m->name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
send_message(struct mailbox *mb, const struct message *m, int limited,
    uint64_t lines)
{
	struct blast b = { .at_line_start = 1, .line_empty = 1,
	    .body_lines_left = lines, .limited = limited };
	char chunk[FILE_CHUNK];
	ssize_t n, i;
	int fd = open_message(mb, m), done = 0;

	if (fd < 0) {
		reply("-ERR unable to open that message\r\n");
		return;
	}
	out("+OK \r\n");
	while (!done && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;	/* nothing better to do mid-response */
		for (i = 0; i < n && !done; i++)
			done = blast_byte(&b, chunk[i]);
	}
	close(fd);
	/* A last line without LF (or ending in a lone CR) gets CRLF. */
	if (!done && (b.pending_cr || !b.at_line_start))
		out("\r\n");
	reply(".\r\n");
}

/* Split "a b" into two words; exactly two. */
static int
two_args(const char *arg, size_t len, size_t *alen_r, const char **b_r,
    size_t *blen_r)
{
	const char *sp = memchr(arg, ' ', len);

	if (sp == NULL)
		return -1;
	*alen_r = (size_t)(sp - arg);
	*b_r = sp + 1;
	*blen_r = len - *alen_r - 1;
	return 0;
}

static void
cmd_top(struct mailbox *mb, const char *arg, size_t len)
{
	const char *b;
	size_t alen, blen;
	uint64_t lines;
	struct message *m;

	if (two_args(arg, len, &alen, &b, &blen) < 0 ||
	    parse_number(b, blen, &lines) < 0) {
		reply("-ERR syntax error\r\n");
		return;
	}
	m = lookup(mb, arg, alen, NULL);
	if (m != NULL)
		send_message(mb, m, 1, lines);
}

static void
cmd_dele(struct mailbox *mb, const char *arg, size_t len)
{
	struct message *m;
	uint64_t n;

	m = lookup(mb, arg, len, &n);
	if (m == NULL)
		return;
	m->deleted = 1;
	if (n > mb->last)
		mb->last = n;
	reply("+OK \r\n");
}

static void
cmd_last(struct mailbox *mb)
{
	char text[REPLY_MAX];

	snprintf(text, sizeof(text), "+OK %llu\r\n",
	    (unsigned long long)mb->last);
	reply(text);
}

static void
cmd_rset(struct mailbox *mb)
{
	size_t i;

	for (i = 0; i < mb->count; i++)
		mb->msgs[i].deleted = 0;
	mb->last = 0;
	reply("+OK \r\n");
}

/* The UPDATE state: only here is anything deleted or moved. */
static void __attribute__((noreturn))
cmd_quit(struct mailbox *mb)
{
	char newname[NAME_MAX + 1];
	struct message *m;
	int failed = 0;
	size_t i;

	for (i = 0; i < mb->count; i++) {
		m = &mb->msgs[i];
		if (m->deleted) {
			if (unlinkat(mb->dirfd[m->dir], m->name, 0) < 0 &&
			    errno != ENOENT)
				failed = 1;
			continue;
		}
		if (m->dir != SUB_NEW || strchr(m->name, ':') != NULL)
			continue;
		if (snprintf(newname, sizeof(newname), "%s:2,", m->name) >=
		    (int)sizeof(newname))
			continue;
		/* If it fails the message just stays new (qmail: bummer). */
		(void)renameat(mb->dirfd[SUB_NEW], m->name,
		    mb->dirfd[SUB_CUR], newname);
	}
	if (failed)
		reply("-ERR [SYS/TEMP] unable to delete all deleted "
		    "messages\r\n");
	else
		reply("+OK \r\n");
	_exit(0);
}

static const char capa_text[] =
    "+OK capability list follows\r\n"
    "TOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
    ".\r\n";

/* Commands taking no argument refuse one. */
static int
no_arg(size_t alen)
{
	if (alen == 0)
		return 1;
	reply("-ERR syntax error\r\n");
	return 0;
}

static void
dispatch(struct mailbox *mb, char *line, size_t len)
{
	size_t wlen = 0, alen;
	const char *arg;

	while (wlen < len && line[wlen] != ' ')
		wlen++;
	arg = wlen < len ? line + wlen + 1 : line + len;
	alen = wlen < len ? len - wlen - 1 : 0;
	line[wlen] = '\0';
	if (strcasecmp(line, "STAT") == 0) {
		if (no_arg(alen))
			cmd_stat(mb);
	} else if (strcasecmp(line, "LIST") == 0) {
		cmd_list(mb, arg, alen, 0);
	} else if (strcasecmp(line, "UIDL") == 0) {
		cmd_list(mb, arg, alen, 1);
	} else if (strcasecmp(line, "RETR") == 0) {
		struct message *m = lookup(mb, arg, alen, NULL);
		if (m != NULL)
			send_message(mb, m, 0, 0);
	} else if (strcasecmp(line, "TOP") == 0) {
		cmd_top(mb, arg, alen);
	} else if (strcasecmp(line, "DELE") == 0) {
		cmd_dele(mb, arg, alen);
	} else if (strcasecmp(line, "RSET") == 0) {
		if (no_arg(alen))
			cmd_rset(mb);
	} else if (strcasecmp(line, "LAST") == 0) {
		if (no_arg(alen))
			cmd_last(mb);
	} else if (strcasecmp(line, "NOOP") == 0) {
		reply("+OK \r\n");
	} else if (strcasecmp(line, "CAPA") == 0) {
		reply(capa_text);
	} else if (strcasecmp(line, "QUIT") == 0) {
		cmd_quit(mb);
	} else {
		reply("-ERR unimplemented\r\n");
	}
}

static void __attribute__((noreturn))
command_loop(struct mailbox *mb)
{
	char line[POPIO_LINE_MAX];
	enum popio_status st;
	size_t len;
	int crlf;

	for (;;) {
		st = popio_getline(&io, line, &len, &crlf);
		if (st == POPIO_TOOLONG) {
			popio_skipline(&io, POPIO_SKIP_MAX);
			reply("-ERR line too long\r\n");
			_exit(0);
		}
		if (st != POPIO_OK)
			_exit(0);	/* no UPDATE without QUIT */
		if (memchr(line, '\0', len) != NULL) {
			reply("-ERR NUL in command\r\n");
			_exit(0);
		}
		dispatch(mb, line, len);
	}
}

int
main(int argc, char **argv)
{
	static struct mailbox mb;

	poplog_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	popio_init(&io, 0, 1, popio_timeout_from_env(), 0);
	if (getuid() == 0 || geteuid() == 0)
		poplog_fatal(2, "refusing to run as uid 0");
	if (argc < 2 || argv[1][0] == '\0')
		poplog_fatal(2, "usage: qmail-pop3d-hack maildir");
	enter_maildir(argv[1]);
	clean_tmp();
	scan_maildir(&mb);
	notify_popup();
	reply("+OK \r\n");
	command_loop(&mb);
}
