# policy/module.mk - authrelay-policy, the Postfix/Exim policy server.
# Links like auth-wrap: libc and tinycdb; libpq is dlopen()ed by
# lib/relaylookup only when lookup = db is tried. AUTHWRAP_CDB_LIBS comes
# from auth-wrap/module.mk (included first: the top Makefile sorts them).
PROGRAMS += bin/authrelay-policy
MAN_PAGES += man/authrelay-policy.8

bin/authrelay-policy: $(B)/policy/policy.o $(B)/policy/request.o $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(AUTHWRAP_CDB_LIBS)
