# authrelay - POP/IMAP-before-SMTP relay control.
# make            build every program into bin/
# make check      install missing packages, build, run every test
# make run        install missing packages, start the embedded default
# make bench      benchmarks, printed as tables of ratios
# make fuzz       libFuzzer targets, each for FUZZ_TIME seconds (default 60)
# make install    PREFIX, DESTDIR, SYSCONFDIR
# make package-check  build the Debian packages twice, lintian, install/purge in a chroot
# WERROR=1 adds -Werror; SAN=1 builds with ASan+UBSan (use a clean tree).
# CPPFLAGS, CFLAGS and LDFLAGS from the environment or the command line are
# honoured (dpkg-buildflags hardening: -D_FORTIFY_SOURCE, -fstack-protector,
# relro/now); the project's own flags are added around them.

# The first rule of an included module.mk must not become the goal.
.DEFAULT_GOAL := all

CC       ?= cc
PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc/authrelay
DESTDIR  ?=

CFLAGS   ?= -O2 -g
WARNINGS  = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Wpointer-arith
ifneq ($(WERROR),)
WARNINGS += -Werror
endif
ifneq ($(SAN),)
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
PKG_CONFIG ?= pkg-config
pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARNINGS) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS) \
             -Ilib $(call pkg_cflags,libpcre2-8 libpq openssl)
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)

PCRE_LIBS = $(call pkg_libs,libpcre2-8)
PQ_LIBS   = $(call pkg_libs,libpq)
CDB_LIBS  = $(or $(call pkg_libs,libcdb),-lcdb)
SSL_LIBS  = $(call pkg_libs,openssl)

B = build
LIBA = $(B)/libauthrelay.a
LIB_OBJS = $(patsubst %.c,$(B)/%.o,$(wildcard lib/*.c))

# Each folder's module.mk appends to PROGRAMS, TEST_PROGRAMS, MAN_PAGES.
PROGRAMS =
TEST_PROGRAMS =
BENCH_PROGRAMS =
MAN_PAGES =
include $(sort $(wildcard */module.mk))
include tests/fuzz/fuzz.mk

LINK = $(CC) $(ALL_LDFLAGS) -o $@

.SECONDARY:
.PHONY: all check run stop bench install clean deps test-programs fuzz package-check
all: $(PROGRAMS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

test-programs: $(TEST_PROGRAMS)

deps:
	@sh tools/deps.sh

check: deps
	@$(MAKE) --no-print-directory all test-programs
	@bash tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/run-embedded.sh

stop:
	@sh tools/run-embedded.sh stop

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_PROGRAMS)
	@bash bench/run.sh

install: all
	sh tools/install.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)"

# Slow (two package builds, a Debian 12 chroot): not part of `make check`.
# Exit 77 (no root, no mirror) is a skip, its reason on the last line.
package-check:
	@sh tools/deps.sh package
	@bash tests/package/package-check.sh || { rc=$$?; [ $$rc -eq 77 ] || exit $$rc; \
	    echo "package-check: 0 passed, 0 failed, 1 skipped"; }

clean:
	rm -rf $(B) bin

-include $(shell find $(B) -name '*.d' 2>/dev/null)
