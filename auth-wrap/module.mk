# auth-wrap/module.mk - auth-wrap, and the cdb export test tool.
# auth-wrap links no libpq: lookup = db dlopen()s it only when used.
PROGRAMS += bin/auth-wrap
MAN_PAGES += man/auth-wrap.8
TEST_PROGRAMS += $(B)/tests/cdbexport-tool
# bench/authwrap-bench.sh drives the export through it too
BENCH_PROGRAMS += $(B)/tests/cdbexport-tool

# tinycdb linked statically where available: one shared library fewer to
# map at every SMTP connection (the wrapper's whole budget is ~0.5 ms).
AUTHWRAP_CDB_LIBS = $(if $(wildcard /usr/lib/*/libcdb.a /usr/lib/libcdb.a \
    /usr/local/lib/libcdb.a),-l:libcdb.a,$(CDB_LIBS))

bin/auth-wrap: $(B)/auth-wrap/auth-wrap.o $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(AUTHWRAP_CDB_LIBS)

# Drives the snapshot writers and loop (watcher/snap*.c) for tests/authwrap/.
$(B)/tests/cdbexport-tool: $(B)/tests/authwrap/cdbexport-tool.o \
    $(B)/watcher/snapverify.o $(B)/watcher/snapshot.o $(B)/watcher/snapwrite.o \
    $(B)/watcher/pgcopy.o $(B)/watcher/pgsnap.o $(B)/watcher/deltamap.o $(LIBA)
	@mkdir -p $(dir $@)
	$(LINK) $^ $(PQ_LIBS) $(CDB_LIBS)
