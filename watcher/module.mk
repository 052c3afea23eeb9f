# watcher/module.mk - authrelayd and authrelayctl.
PROGRAMS += bin/authrelayctl

# The parser engine and input handling, shared by both programs.
WATCHER_CORE = $(B)/watcher/syslog.o $(B)/watcher/rules.o $(B)/watcher/linebuf.o
CTL_OBJS = $(B)/watcher/authrelayctl.o $(B)/watcher/ctl-parse.o $(B)/watcher/ctl-db.o \
           $(B)/watcher/cdbexport.o $(B)/watcher/hook.o $(B)/watcher/ctl-setup.o

bin/authrelayctl: $(CTL_OBJS) $(WATCHER_CORE) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(PCRE_LIBS) $(PQ_LIBS) $(CDB_LIBS)

PROGRAMS += bin/authrelayd
DAEMON_OBJS = $(B)/watcher/authrelayd.o $(B)/watcher/store.o $(B)/watcher/queue.o \
              $(B)/watcher/trusted.o $(B)/watcher/acks.o $(B)/watcher/hook.o \
              $(B)/watcher/cdbexport.o $(B)/watcher/sync.o
bin/authrelayd: $(DAEMON_OBJS) $(WATCHER_CORE) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(PCRE_LIBS) $(PQ_LIBS) $(CDB_LIBS)
