# tests/module.mk - unit tests: tests/unit/test-<module>.c links libauthrelay.
UNIT_SRCS = $(wildcard tests/unit/test-*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
TEST_PROGRAMS += $(UNIT_BINS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBA)
	$(LINK) $^ $(PCRE_LIBS) $(CDB_LIBS)

# The omprog answers and journal live in the watcher.
$(B)/tests/test-confirm: $(B)/tests/unit/test-confirm.o $(B)/watcher/confirm.o \
    $(B)/watcher/linebuf.o $(LIBA)
	$(LINK) $^
