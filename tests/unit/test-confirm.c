/* test-confirm.c - the omprog answers and the journal of watcher/confirm.c. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../watcher/confirm.h"
#include "harness.h"
#include "log.h"

static int answers[2];

/* Every answer written so far, joined by '|' ("" when none). */
static const char *
taken(void)
{
	static char buf[1024];
	ssize_t n = read(answers[0], buf, sizeof(buf) - 1);

	if (n <= 0)
		return "";
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = i == n - 1 ? '\0' : '|';
	return buf;
}

static void
line(struct confirm *c, const char *text, uint64_t last, int queued, int full)
{
	confirm_line(c, text, strlen(text), last, queued, full);
}

static off_t
size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static char replayed[4096];

static uint64_t
collect(void *arg, const char *text, size_t len)
{
	uint64_t *seq = arg;

	strncat(replayed, text, len);
	strcat(replayed, ";");
	return ++*seq;
}

int
main(void)
{
	char dir[] = "/tmp/test-confirm.XXXXXX", path[256], path1[256], path2[256];
	struct confirm c, d;
	const char *why = NULL;
	uint64_t seq = 0;
	int fd;

	log_init("test-confirm", 1, 0);
	if (pipe(answers) < 0 || mkdtemp(dir) == NULL)
		return 2;
	fcntl(answers[0], F_SETFL, O_NONBLOCK);
	snprintf(path, sizeof(path), "%s/j", dir);
	snprintf(path1, sizeof(path1), "%s/j.1", dir);
	snprintf(path2, sizeof(path2), "%s/j.2", dir);

	/* A transaction: lines answered at once, kept; COMMIT after the commit. */
	confirm_init(&c, answers[1]);
	CHECK(confirm_journal_open(&c, path, &why) == 0);
	confirm_ready(&c);
	confirm_flush(&c, 0);
	CHECK(strcmp(taken(), "OK") == 0);
	line(&c, "BEGIN TRANSACTION", 0, 0, 0);
	confirm_flush(&c, 0);
	CHECK(strcmp(taken(), "OK") == 0);
	line(&c, "login one", 1, 1, 0);
	confirm_flush(&c, 0);
	CHECK(strcmp(taken(), "DEFER_COMMIT") == 0);
	CHECK(size_of(path) == 10);
	line(&c, "no login here", 1, 0, 0);
	confirm_flush(&c, 0);
	CHECK(strcmp(taken(), "DEFER_COMMIT") == 0);
	CHECK(size_of(path) == 10);
	line(&c, "login two", 2, 1, 0);
	line(&c, "COMMIT TRANSACTION", 2, 0, 0);
	confirm_flush(&c, 1);
	CHECK(strcmp(taken(), "DEFER_COMMIT") == 0);
	CHECK(size_of(path) == 20);	/* login two is not committed */
	confirm_flush(&c, 2);
	CHECK(strcmp(taken(), "OK") == 0);
	CHECK(size_of(path) == 0);

	/* Outside a transaction: OK once committed; a full queue refuses. */
	line(&c, "login three", 3, 1, 0);
	confirm_flush(&c, 2);
	CHECK(strcmp(taken(), "") == 0);
	confirm_flush(&c, 3);
	CHECK(strcmp(taken(), "OK") == 0);
	line(&c, "login four", 3, 0, 1);
	confirm_flush(&c, 3);
	CHECK(strcmp(taken(), "ERROR queue full") == 0);
	CHECK(size_of(path) == 0);

	/* A transaction that found the queue full is refused at once. */
	line(&c, "BEGIN TRANSACTION", 3, 0, 0);
	line(&c, "login five", 4, 1, 0);
	line(&c, "login six", 4, 0, 1);
	line(&c, "COMMIT TRANSACTION", 4, 0, 0);
	confirm_flush(&c, 3);
	CHECK(strcmp(taken(), "OK|DEFER_COMMIT|DEFER_COMMIT|ERROR queue full") == 0);
	CHECK(c.refused == 1);
	CHECK(size_of(path) == 11);	/* login five still waits */

	/* rsyslog restarts the transaction: the open one is abandoned. */
	line(&c, "BEGIN TRANSACTION", 4, 0, 0);
	line(&c, "login seven", 5, 1, 0);
	line(&c, "BEGIN TRANSACTION", 5, 0, 0);
	CHECK(c.restarted == 1);
	confirm_flush(&c, 3);
	CHECK(strcmp(taken(), "OK|DEFER_COMMIT|OK") == 0);
	line(&c, "COMMIT TRANSACTION", 5, 0, 0);

	/* Killed here: the next one reads both uncommitted lines. */
	confirm_close(&c);
	confirm_init(&d, answers[1]);
	CHECK(confirm_journal_open(&d, path, &why) == 0);
	CHECK(confirm_journal_replay(&d, collect, &seq) == 2);
	CHECK(strcmp(replayed, "login five;login seven;") == 0);
	CHECK(d.journal_seq == 2);
	confirm_flush(&d, 1);
	CHECK(size_of(path) == 23);
	confirm_flush(&d, 2);
	CHECK(size_of(path) == 0);
	CHECK(strcmp(taken(), "") == 0);	/* c's COMMIT died unanswered */

	/* A second authrelayd takes j.1 and the orphan j.2's lines. */
	fd = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "orphan\ncut", 10) == 10);
	close(fd);
	confirm_init(&c, answers[1]);
	CHECK(confirm_journal_open(&c, path, &why) == 0);
	CHECK(size_of(path1) == 11 && size_of(path2) == 0);
	replayed[0] = '\0';
	seq = 0;
	CHECK(confirm_journal_replay(&c, collect, &seq) == 2);
	CHECK(strcmp(replayed, "orphan;cut;") == 0);
	confirm_close(&c);
	confirm_close(&d);

	/* Without a journal a line waits for its own commit. */
	confirm_init(&c, answers[1]);
	line(&c, "BEGIN TRANSACTION", 0, 0, 0);
	line(&c, "login eight", 1, 1, 0);
	confirm_flush(&c, 0);
	CHECK(strcmp(taken(), "OK") == 0);
	confirm_flush(&c, 1);
	CHECK(strcmp(taken(), "DEFER_COMMIT") == 0);

	/* A symlink or a file others may write is refused. */
	confirm_init(&c, answers[1]);
	CHECK(symlink(path, path2) == 0 || (unlink(path2) == 0 && symlink(path, path2) == 0));
	CHECK(confirm_journal_open(&c, path2, &why) < 0 && strcmp(why, "is a symlink") == 0);
	chmod(path, 0622);
	CHECK(confirm_journal_open(&c, path, &why) < 0);
	CHECK(c.journal_fd < 0);

	unlink(path);
	unlink(path1);
	unlink(path2);
	rmdir(dir);
	return harness_done();
}
