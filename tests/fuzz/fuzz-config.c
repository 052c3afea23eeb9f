/* fuzz-config.c - libFuzzer target: config_load on arbitrary authrelay.conf text, through a memfd. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define FUZZ_PATH_MAX 64

static int memfd = -1;
static char path[FUZZ_PATH_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* In memory: no temp files to clean up, and fast. */
	memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("fuzz-config: memfd_create");
		exit(2);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void
put_file(const uint8_t *data, size_t size)
{
	size_t done = 0;
	ssize_t n;

	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	while (done < size) {
		n = pwrite(memfd, data + done, size - done, (off_t)done);
		FUZZ_CHECK(n > 0 || (n < 0 && errno == EINTR));
		if (n > 0)
			done += (size_t)n;
	}
}

/* "path:N: ..." with N a line number >= 1. */
static void
check_error(const char *err)
{
	size_t plen = strlen(path);
	const char *p = err + plen + 1;

	FUZZ_CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
	FUZZ_CHECK(*p >= '1' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		p++;
	FUZZ_CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
}

/* config_dump text, in a malloc'ed string the caller frees. */
static char *
dump(const struct config *cfg, size_t *len_r)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len_r);

	FUZZ_CHECK(f != NULL);
	config_dump(cfg, f);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

/* What config_dump prints loads again and prints the same. */
static void
check_round_trip(const struct config *cfg)
{
	char err[CONFIG_ERROR_MAX];
	struct config back;
	char *first, *second;
	size_t flen, slen;

	first = dump(cfg, &flen);
	put_file((const uint8_t *)first, flen);
	if (config_load(path, 0, &back, err) < 0) {
		fprintf(stderr, "fuzz-config: dump does not load: %s\n", err);
		FUZZ_CHECK(!"config_dump output loads again");
	}
	second = dump(&back, &slen);
	FUZZ_CHECK(flen == slen && memcmp(first, second, flen) == 0);
	config_free(&back);
	free(first);
	free(second);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERROR_MAX];
	struct config cfg;

	put_file(data, size);
	memset(err, 0, sizeof(err));
	if (config_load(path, 0, &cfg, err) < 0) {
		check_error(err);
		return 0;
	}
	check_round_trip(&cfg);
	config_free(&cfg);
	return 0;
}
