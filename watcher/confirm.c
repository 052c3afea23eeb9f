/* confirm.c - rsyslog omprog's confirmMessages protocol: what to answer, and when. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confirm.h"
#include "linebuf.h"
#include "log.h"

#define JOURNAL_LINE_MAX 16384

#define BEGIN_MARK "BEGIN TRANSACTION"
#define COMMIT_MARK "COMMIT TRANSACTION"

void
confirm_init(struct confirm *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->journal_fd = -1;
}

void
confirm_close(struct confirm *c)
{
	if (c->journal_fd >= 0)
		close(c->journal_fd);
	c->journal_fd = -1;
	for (size_t i = 0; i < c->njournal_names; i++)
		free(c->journal_names[i]);
	c->njournal_names = 0;
}

/* A journal that is ours or was a stopped authrelayd's (handover.h). */
static void
note_journal(struct confirm *c, const char *name)
{
	char *copy = strdup(name);

	if (copy != NULL)
		c->journal_names[c->njournal_names++] = copy;
}

/* Append what an orphaned journal holds to ours, then empty it. */
static int
journal_adopt(struct confirm *c, int fd)
{
	char buf[65536], last = '\n';
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(c->journal_fd, buf, (size_t)n) != n)
			return -1;
		last = buf[n - 1];
	}
	/* A cut last line must not run into the next. */
	if (n < 0 || (last != '\n' && write(c->journal_fd, "\n", 1) != 1) ||
	    ftruncate(fd, 0) < 0)
		return -1;
	c->journal_dirty = 1;
	return 0;
}

/*
 * One journal file: make it ours (created if need be) when we have none
 * yet, else adopt it if it exists and nobody holds it. 0 when it became
 * ours, 1 when skipped or adopted, -1 with *why_r.
 */
static int
journal_try(struct confirm *c, const char *name, const char **why_r)
{
	int own = c->journal_fd < 0;
	struct stat sb;
	int fd;

	fd = open(name, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
	    (own ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == ENOENT && !own)
		return 1;
	if (fd < 0) {
		*why_r = errno == ELOOP ? "is a symlink" : strerror(errno);
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		*why_r = "not a regular file";
	else if (sb.st_uid != geteuid())
		*why_r = "not owned by the watcher's user";
	else if (sb.st_mode & (S_IWGRP | S_IWOTH | S_IRWXO))
		*why_r = "mode lets other users read or write it";
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			close(fd);
			return 1;	/* a running authrelayd's */
		}
		*why_r = strerror(errno);
	} else if (own) {
		c->journal_fd = fd;
		c->journal_dirty = sb.st_size > 0;
		note_journal(c, name);
		return 0;
	} else if (sb.st_size == 0 || journal_adopt(c, fd) == 0) {
		note_journal(c, name);
		close(fd);
		return 1;
	} else
		*why_r = "cannot take over its lines";
	close(fd);
	return -1;
}

/*
 * rsyslog runs one program per worker of the action's queue (its
 * disk-assisted part has a worker of its own), so each running
 * authrelayd locks a journal of its own: path, else path.1, path.2 ...
 * Journals that no running authrelayd holds are taken over: their lines
 * are moved into ours and read with it.
 */
int
confirm_journal_open(struct confirm *c, const char *path, const char **why_r)
{
	char name[4096];
	int rc;

	for (int i = 0; i < CONFIRM_JOURNALS_MAX; i++) {
		if (i == 0)
			rc = snprintf(name, sizeof(name), "%s", path);
		else
			rc = snprintf(name, sizeof(name), "%s.%d", path, i);
		if (rc < 0 || (size_t)rc >= sizeof(name)) {
			*why_r = "path too long";
			break;
		}
		if (journal_try(c, name, why_r) < 0)
			break;
		if (i == CONFIRM_JOURNALS_MAX - 1 && c->journal_fd < 0)
			*why_r = "every journal file is locked by a running authrelayd";
		else if (i == CONFIRM_JOURNALS_MAX - 1)
			return 0;
	}
	confirm_close(c);
	return -1;
}

size_t
confirm_journal_replay(struct confirm *c,
    uint64_t (*line_fn)(void *arg, const char *line, size_t len), void *arg)
{
	struct linebuf lb;
	const char *line;
	size_t len, lines = 0;
	ssize_t n;

	if (c->journal_fd < 0 || !c->journal_dirty)
		return 0;
	if (linebuf_init(&lb, 4 * JOURNAL_LINE_MAX, JOURNAL_LINE_MAX) < 0)
		return 0;
	if (lseek(c->journal_fd, 0, SEEK_SET) == 0) {
		/* A last line without its newline was never answered. */
		while ((n = linebuf_fill(&lb, c->journal_fd)) > 0)
			while (linebuf_next(&lb, &line, &len)) {
				c->journal_seq = line_fn(arg, line, len);
				lines++;
			}
		if (n < 0)
			log_sys(LOG_ERR, "event=journal_read_error");
	}
	linebuf_free(&lb);
	c->replayed += lines;
	return lines;
}

/*
 * Keep the line of a queued event before it is answered DEFER_COMMIT
 * at once: one write, so a kill leaves whole lines (the appended
 * newline is part of the same write).
 */
static int
journal_append(struct confirm *c, const char *line, size_t len, uint64_t seq)
{
	char buf[JOURNAL_LINE_MAX + 1];
	ssize_t n;

	if (c->journal_fd < 0 || len > JOURNAL_LINE_MAX)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\n';
	do
		n = write(c->journal_fd, buf, len + 1);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(len + 1)) {
		if (c->journal_errors++ == 0)
			log_sys(LOG_ERR, "event=journal_write_error note=\"lines wait for their own commit\"");
		/* A partial line is no line: cut it off again. */
		if (n > 0)
			(void)ftruncate(c->journal_fd, lseek(c->journal_fd, 0, SEEK_END) - n);
		return -1;
	}
	c->journal_dirty = 1;
	c->journal_seq = seq;
	return 0;
}

static int
is(const char *line, size_t len, const char *mark)
{
	return len == strlen(mark) && memcmp(line, mark, len) == 0;
}

int
confirm_is_mark(const char *line, size_t len)
{
	return is(line, len, BEGIN_MARK) || is(line, len, COMMIT_MARK);
}

/* Queue an answer; it is written once events up to after_seq are done. */
static void
push(struct confirm *c, uint64_t after_seq, const char *text)
{
	struct confirm_reply *r;

	if (c->len == CONFIRM_PENDING_MAX) {
		/* rsyslog waits for each answer: this is not rsyslog. */
		if (!c->failed)
			log_err("event=confirm_overflow pending=%d", CONFIRM_PENDING_MAX);
		c->failed = 1;
		return;
	}
	r = &c->ring[(c->head + c->len) % CONFIRM_PENDING_MAX];
	r->after_seq = after_seq;
	snprintf(r->text, sizeof(r->text), "%s", text);
	c->len++;
}

void
confirm_ready(struct confirm *c)
{
	push(c, 0, "OK");
}

int
confirm_line(struct confirm *c, const char *line, size_t len,
    uint64_t last_seq, int queued, int full)
{
	if (is(line, len, BEGIN_MARK)) {
		if (c->in_tx) {
			c->restarted++;
			log_warn("event=confirm_tx_restarted note=\"rsyslog abandoned the open transaction; its queued logins are still written\"");
		}
		c->in_tx = 1;
		c->tx_refused = 0;
		c->tx_lines = 0;
		push(c, 0, "OK");
		return 1;
	}
	if (is(line, len, COMMIT_MARK)) {
		c->transactions++;
		log_debug("event=confirm_commit lines=%llu refused=%d",
		    (unsigned long long)c->tx_lines, c->tx_refused);
		if (c->in_tx && c->tx_refused) {
			c->refused++;
			log_warn("event=confirm_tx_refused note=\"queue full; rsyslog sends the batch again\"");
			push(c, 0, "ERROR queue full");
		} else {
			push(c, last_seq, "OK");
		}
		c->in_tx = 0;
		c->tx_refused = 0;
		return 1;
	}
	if (c->in_tx) {
		c->tx_lines++;
		if (full)
			c->tx_refused = 1;
		/* No event, or the line is kept: answer now; else after its commit. */
		if (!queued || journal_append(c, line, len, last_seq) == 0)
			push(c, 0, "DEFER_COMMIT");
		else
			push(c, last_seq, "DEFER_COMMIT");
	} else if (full) {
		push(c, 0, "ERROR queue full");
	} else {
		push(c, last_seq, "OK");
	}
	return 0;
}

static int
write_line(int fd, const char *text)
{
	char buf[CONFIRM_TEXT_MAX + 1];
	size_t len = strlen(text), off = 0;

	memcpy(buf, text, len);
	buf[len++] = '\n';
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

void
confirm_flush(struct confirm *c, uint64_t done_seq)
{
	/* Everything the journal holds is done: before COMMIT gets OK. */
	if (c->journal_dirty && !c->in_tx && done_seq >= c->journal_seq) {
		if (ftruncate(c->journal_fd, 0) == 0)
			c->journal_dirty = 0;
		else if (c->journal_errors++ == 0)
			log_sys(LOG_ERR, "event=journal_truncate_error");
	}
	while (c->len > 0 && !c->failed) {
		struct confirm_reply *r = &c->ring[c->head];

		if (r->after_seq > done_seq)
			return;
		if (write_line(c->fd, r->text) < 0)
			c->failed = 1;
		c->head = (c->head + 1) % CONFIRM_PENDING_MAX;
		c->len--;
	}
}

size_t
confirm_pending(const struct confirm *c)
{
	return c->len;
}
