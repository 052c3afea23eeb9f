# qmail-pop-hack/module.mk - qmail-popup-hack, qmail-pop3d-hack and their test checkpassword.
POP_COMMON = $(B)/qmail-pop-hack/popio.o $(B)/qmail-pop-hack/poplog.o
PROGRAMS += bin/qmail-popup-hack bin/qmail-pop3d-hack
TEST_PROGRAMS += $(B)/tests-bin/checkpassword-test
MAN_PAGES += man/qmail-popup-hack.8 man/qmail-pop3d-hack.8

bin/qmail-popup-hack: $(B)/qmail-pop-hack/qmail-popup-hack.o $(B)/qmail-pop-hack/sslline.o $(POP_COMMON) $(LIBA)
	@mkdir -p bin
	$(LINK) $^

bin/qmail-pop3d-hack: $(B)/qmail-pop-hack/qmail-pop3d-hack.o $(POP_COMMON) $(LIBA)
	@mkdir -p bin
	$(LINK) $^ $(SSL_LIBS)

$(B)/tests-bin/checkpassword-test: $(B)/tests/pop/checkpassword-test.o
	@mkdir -p $(dir $@)
	$(LINK) $^ $(SSL_LIBS)
