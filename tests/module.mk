# tests/module.mk - unit tests: tests/unit/test-<module>.c links libauthrelay.
UNIT_SRCS = $(wildcard tests/unit/test-*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
TEST_PROGRAMS += $(UNIT_BINS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIBA)
	$(LINK) $^ $(PCRE_LIBS) $(CDB_LIBS)

# tests/policy: drives lib/postfixmap (the optional Postfix relay map).
TEST_PROGRAMS += $(B)/tests/postfixmap-tool
$(B)/tests/postfixmap-tool: $(B)/tests/policy/postfixmap-tool.o $(LIBA)
	$(LINK) $^ $(CDB_LIBS)
