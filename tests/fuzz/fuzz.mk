# tests/fuzz/fuzz.mk - `make fuzz`: build the libFuzzer targets with clang, replay the corpora, fuzz each for FUZZ_TIME seconds.
# Included by the top Makefile (include tests/fuzz/fuzz.mk); the build itself
# lives in tests/fuzz/run-fuzz.sh because it needs clang, not $(CC).
FUZZ_TIME ?= 60
fuzz: deps
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) bash tests/fuzz/run-fuzz.sh all $(FUZZ_TARGETS)
