/* fuzz-popio.c - libFuzzer target: the POP3 command reader (popio_getline) against a reference splitter. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "popio.h"

/* A pipe holds 64 KiB: bigger inputs would block the single thread. */
#define FUZZ_INPUT_MAX 60000
/* Never reached: the whole input is in the pipe before reading. */
#define FUZZ_TIMEOUT_MS 10000

static struct popio io;

/* The reference: where the line starting at pos ends, and what it holds. */
struct expect {
	enum popio_status st;
	size_t len;		/* without LF and the CR before it */
	int crlf;
	size_t next;		/* where the following read starts */
};

static struct expect
model(const char *s, size_t size, size_t pos)
{
	struct expect e = { POPIO_EOF, 0, 0, size };
	const char *nl = memchr(s + pos, '\n', size - pos);
	size_t raw = nl != NULL ? (size_t)(nl - (s + pos)) : size - pos;
	size_t end_of_skip;

	/* POPIO_LINE_MAX - 1 bytes fit before the LF, a CR included. */
	if (raw >= POPIO_LINE_MAX) {
		e.st = POPIO_TOOLONG;
		/* popio_skipline drops at most POPIO_SKIP_MAX more bytes. */
		end_of_skip = pos + POPIO_LINE_MAX + POPIO_SKIP_MAX;
		e.next = nl != NULL ? (size_t)(nl - s) + 1 : size;
		if (e.next > end_of_skip)
			e.next = end_of_skip;
		return e;
	}
	if (nl == NULL)
		return e;
	e.st = POPIO_OK;
	e.crlf = raw > 0 && s[pos + raw - 1] == '\r';
	e.len = raw - (size_t)e.crlf;
	e.next = pos + raw + 1;
	return e;
}

static void
write_input(int fd, const uint8_t *data, size_t size)
{
	ssize_t n = write(fd, data, size);

	FUZZ_CHECK(n == (ssize_t)size);
	FUZZ_CHECK(close(fd) == 0);
}

/* Byte 0 picks byte-at-a-time reads (qmail-popup-hack's mode) or buffered. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[POPIO_LINE_MAX];
	const char *s;
	enum popio_status st;
	struct expect e;
	size_t len, pos = 0, n;
	int fds[2], crlf;

	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0);
	write_input(fds[1], data + 1, size - 1);
	popio_init(&io, fds[0], -1, FUZZ_TIMEOUT_MS, data[0] & 1);
	s = (const char *)data + 1;
	n = size - 1;
	for (;;) {
		e = model(s, n, pos);
		st = popio_getline(&io, line, &len, &crlf);
		FUZZ_CHECK(st == e.st);
		if (st == POPIO_EOF) {
			pos = e.next;
			break;
		}
		if (st == POPIO_TOOLONG) {
			popio_skipline(&io, POPIO_SKIP_MAX);
		} else {
			FUZZ_CHECK(len == e.len && crlf == e.crlf);
			FUZZ_CHECK(memcmp(line, s + pos, len) == 0);
		}
		pos = e.next;
	}
	FUZZ_CHECK(pos == n);
	close(fds[0]);
	return 0;
}
