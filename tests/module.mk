# tests/module.mk - unit tests: tests/unit/test-<module>.c links libauthrelay.
UNIT_SRCS = $(wildcard tests/unit/test-*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
TEST_PROGRAMS += $(UNIT_BINS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBA)
	$(LINK) $^ $(PCRE_LIBS) $(CDB_LIBS)

# The snapshot files' unit test also links the watcher's writers.
$(B)/tests/test-snapshot: $(B)/tests/unit/test-snapshot.o $(B)/watcher/snapwrite.o \
    $(B)/watcher/pgcopy.o $(B)/watcher/pgsnap.o $(B)/watcher/deltamap.o $(LIBA)
	$(LINK) $^ $(PQ_LIBS) $(CDB_LIBS)

# tests/policy: drives lib/postfixmap (the optional Postfix relay map).
TEST_PROGRAMS += $(B)/tests/postfixmap-tool
$(B)/tests/postfixmap-tool: $(B)/tests/policy/postfixmap-tool.o $(LIBA)
	$(LINK) $^ $(CDB_LIBS)
# The omprog answers and journal live in the watcher.
$(B)/tests/test-confirm: $(B)/tests/unit/test-confirm.o $(B)/watcher/confirm.o \
    $(B)/watcher/linebuf.o $(LIBA)
	$(LINK) $^
