# watcher/module.mk - authrelayd and authrelayctl.
PROGRAMS += bin/authrelayctl

# The parser engine and input handling, shared by both programs.
WATCHER_CORE = $(B)/watcher/syslog.o $(B)/watcher/rules.o $(B)/watcher/linebuf.o
# The snapshot files: how a relay row reaches auth-wrap (see snapshot.h).
SNAPSHOT_WRITE_OBJS = $(B)/watcher/snapwrite.o $(B)/watcher/pgcopy.o \
           $(B)/watcher/pgsnap.o $(B)/watcher/deltamap.o
SNAPSHOT_OBJS = $(B)/watcher/snapshot.o $(SNAPSHOT_WRITE_OBJS)
CTL_OBJS = $(B)/watcher/authrelayctl.o $(B)/watcher/ctl-parse.o $(B)/watcher/ctl-db.o \
           $(B)/watcher/snapverify.o $(SNAPSHOT_WRITE_OBJS) $(B)/watcher/hook.o \
           $(B)/watcher/schema.o $(B)/watcher/ctl-setup.o

bin/authrelayctl: $(CTL_OBJS) $(WATCHER_CORE) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(PCRE_LIBS) $(PQ_LIBS) $(CDB_LIBS)

PROGRAMS += bin/authrelayd
DAEMON_OBJS = $(B)/watcher/authrelayd.o $(B)/watcher/store.o $(B)/watcher/queue.o \
              $(B)/watcher/trusted.o $(B)/watcher/confirm.o $(B)/watcher/hook.o \
              $(SNAPSHOT_OBJS) $(B)/watcher/retention.o $(B)/watcher/schema.o \
              $(B)/watcher/handover.o
bin/authrelayd: $(DAEMON_OBJS) $(WATCHER_CORE) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(PCRE_LIBS) $(PQ_LIBS) $(CDB_LIBS)
