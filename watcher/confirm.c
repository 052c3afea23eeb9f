/* confirm.c - rsyslog omprog's confirmMessages protocol: what to answer, and when. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "confirm.h"
#include "linebuf.h"
#include "log.h"

#define JOURNAL_LOCK_WAIT_MS 30000	/* a stopping predecessor flushes for 10 s */
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
}

/* Wait for a predecessor still stopping (it holds the lock). */
static int
lock_journal(int fd)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	for (int waited = 0; waited < JOURNAL_LOCK_WAIT_MS; waited += 100) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		nanosleep(&pause, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

int
confirm_journal_open(struct confirm *c, const char *path, const char **why_r)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
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
	else if (lock_journal(fd) < 0)
		*why_r = errno == EWOULDBLOCK ?
		    "locked by another authrelayd for 30 s" : strerror(errno);
	else {
		c->journal_fd = fd;
		c->journal_dirty = sb.st_size > 0;
		return 0;
	}
	close(fd);
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
