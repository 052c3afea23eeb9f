# sslwrap-hack/module.mk - the POP3S front, and its unit test program.
SSLWRAP_OBJS = $(patsubst %.c,$(B)/%.o,$(wildcard sslwrap-hack/*.c))
SSLWRAP_LIB_OBJS = $(filter-out $(B)/sslwrap-hack/sslwrap-hack.o,$(SSLWRAP_OBJS))
PROGRAMS += bin/sslwrap-hack
TEST_PROGRAMS += $(B)/tests/test-sslwrap
MAN_PAGES += man/sslwrap-hack.8

bin/sslwrap-hack: $(SSLWRAP_OBJS) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(SSL_LIBS)

$(B)/tests/sslwrap/unit-sslwrap.o: ALL_CFLAGS += -Isslwrap-hack

$(B)/tests/test-sslwrap: $(B)/tests/sslwrap/unit-sslwrap.o $(SSLWRAP_LIB_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(SSL_LIBS)
