# Makefile -- builds the five arrears services, their tools and tests.
#
#   make                 build bin/arrears-*
#   make test            unit + integration (+ fuzz smoke, k8s validation)
#   make SANITIZE=address,undefined test
#   make test-san        unit tests under ASan + UBSan in $(BUILD)-san (make test runs it)
#   make V=1             show the commands
#
# Layout (docs/conventions.md): common/*.c -> build/libcommon.a;
# contract/*.c -> build/libcontract.a; services/<svc>/main.c ->
# bin/arrears-<svc>, the rest of services/<svc>/*.c -> build/libsvc_<svc>.a;
# tools/<t>.c -> bin/arrears-<t>, tools/*_lib.c -> build/libtools.a;
# tests/unit/test_*.c -> build/tests/test_*, the other tests/unit/*.c ->
# build/libunithelp.a. What each binary links is listed under "link
# lists" below.

CC       ?= cc
SERVICES := $(sort $(patsubst services/%/main.c,%,$(wildcard services/*/main.c)))
BUILD    := build
BIN      := bin
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla -Wundef
CPPFLAGS += -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DARREARS_VERSION='"$(VERSION)"' -Icommon -Icontract
CFLAGS   += -std=c11 $(OPT) $(WARN) -MMD -MP -pthread
LDLIBS   += -lrdkafka -ljansson -lhiredis -lcurl -lmicrohttpd -lcrypto -lm -lpthread

ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build-san
BIN      := bin-san
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif
define say
	@$(if $(filter 1,$(V)),true,printf '  %-6s %s\n' $(1) $(2))
endef

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libcommon.a

# The contract (contract/*.c -> libcontract.a): record types, enums,
# limits and their one codec; every service, tool and test links it.
CONTRACT_SRC := $(wildcard contract/*.c)
CONTRACT_OBJ := $(CONTRACT_SRC:%.c=$(BUILD)/%.o)
CONTRACT_LIB := $(BUILD)/libcontract.a

svc_src  = $(filter-out services/$(1)/main.c,$(wildcard services/$(1)/*.c))
svc_obj  = $(patsubst %.c,$(BUILD)/%.o,$(call svc_src,$(1)))
svc_lib  = $(BUILD)/libsvc_$(1).a
SVC_LIBS := $(foreach s,$(SERVICES),$(call svc_lib,$(s)))
SVC_BINS := $(foreach s,$(SERVICES),$(BIN)/arrears-$(s))

# Tools: tools/<t>.c is the binary's main (bin/arrears-<t>); the logic
# tools/*_lib.c and their tests share goes into libtools.a.
TOOLS_LIB_SRC := $(wildcard tools/*_lib.c)
TOOLS_LIB_OBJ := $(TOOLS_LIB_SRC:%.c=$(BUILD)/%.o)
TOOLS_LIB     := $(BUILD)/libtools.a
TOOL_SRC  := $(filter-out $(TOOLS_LIB_SRC),$(wildcard tools/*.c))
TOOL_NAMES := $(patsubst tools/%.c,%,$(TOOL_SRC))
TOOL_BINS := $(patsubst %,$(BIN)/arrears-%,$(TOOL_NAMES))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
UNIT_BINS  := $(patsubst %,$(BUILD)/tests/%,$(UNIT_NAMES))
# Helpers the unit tests share (tests/unit/*.c that are not test_*.c, e.g.
# schema_check.c) go into libunithelp.a, which every unit test links.
UNIT_HELP_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HELP_OBJ := $(UNIT_HELP_SRC:%.c=$(BUILD)/%.o)
UNIT_HELP_LIB := $(BUILD)/libunithelp.a

IT_SRC    := $(wildcard tests/integration/it_*.c)
IT_NAMES  := $(patsubst tests/integration/%.c,%,$(IT_SRC))
IT_BINS   := $(patsubst %,$(BUILD)/tests/%,$(IT_NAMES))

ALL_OBJ := $(COMMON_OBJ) $(CONTRACT_OBJ) $(foreach s,$(SERVICES),$(call svc_obj,$(s)) $(BUILD)/services/$(s)/main.o) \
           $(TOOLS_LIB_OBJ) $(TOOL_SRC:%.c=$(BUILD)/%.o) $(UNIT_SRC:%.c=$(BUILD)/%.o) $(UNIT_HELP_OBJ) \
           $(IT_SRC:%.c=$(BUILD)/%.o)

# ---- link lists --------------------------------------------------------
# As in Redis's Makefile, every binary names what it links: the libraries
# it uses besides libcontract and libcommon (which all link), and nothing
# else. A service library appears only in the binaries that call it.
BASE_LIBS := $(CONTRACT_LIB) $(COMMON_LIB)

# Services: bin/arrears-<svc> links its own library.
LINK_arrears-ingest    := $(call svc_lib,ingest)
LINK_arrears-scheduler := $(call svc_lib,scheduler)
LINK_arrears-notifier  := $(call svc_lib,notifier)
LINK_arrears-reporter  := $(call svc_lib,reporter)
LINK_arrears-gateway   := $(call svc_lib,gateway)

# Tools: none links a service library.
LINK_arrears-admin     :=
LINK_arrears-genledger := $(TOOLS_LIB)
LINK_arrears-publish   := $(TOOLS_LIB)
LINK_arrears-report    :=

# Unit tests: UNIT_LINK_<test name> when set, else by the name's second
# word (test_<group>_*): the library under test. A test in no group links
# libcontract and libcommon only. Every unit test also links libunithelp.
UNIT_LINK_ingest    := $(call svc_lib,ingest)
UNIT_LINK_scheduler := $(call svc_lib,scheduler)
UNIT_LINK_notifier  := $(call svc_lib,notifier)
UNIT_LINK_reporter  := $(call svc_lib,reporter)
UNIT_LINK_gateway   := $(call svc_lib,gateway)
UNIT_LINK_tools     := $(TOOLS_LIB)
# test_contract_docs produces a command, a contact outcome, a task and
# every report with the services' own code.
UNIT_LINK_test_contract_docs := $(call svc_lib,scheduler) $(call svc_lib,notifier) \
                                $(call svc_lib,reporter)
unit_group = $(word 2,$(subst _, ,$(1)))
unit_link  = $(if $(filter undefined,$(origin UNIT_LINK_$(1))),$(UNIT_LINK_$(call unit_group,$(1))),$(UNIT_LINK_$(1)))

# Integration test binaries (tests/integration/it_*.c): same rule.
IT_LINK_common :=
IT_LINK_notifier := $(call svc_lib,notifier)
it_link    = $(IT_LINK_$(call unit_group,$(1)))

.PHONY: all deps test test-run test-unit test-san test-san-run test-integration test-k8s fuzz demo \
        soak bench images valgrind chaos test-cluster \
        clean distclean format format-check stack-up stack-down check-config

all: $(SVC_BINS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CONTRACT_LIB): $(CONTRACT_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(TOOLS_LIB): $(TOOLS_LIB_OBJ) | $(BUILD)/empty.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^ $(if $^,,$(BUILD)/empty.o)

$(UNIT_HELP_LIB): $(UNIT_HELP_OBJ) | $(BUILD)/empty.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^ $(if $^,,$(BUILD)/empty.o)

# $(call link_rule,binary,first object,libraries,extra flags)
define link_rule
$(1): $(2) $(3) $(BASE_LIBS)
	@mkdir -p $$(dir $$@)
	$$(call say,LINK,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $(2) -Wl,--start-group $(3) $(BASE_LIBS) -Wl,--end-group $$(LDLIBS) $(4)
endef

define svc_rules
$(call svc_lib,$(1)): $(call svc_obj,$(1))
	$$(call say,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^ $$(if $$^,,$(BUILD)/empty.o)
endef
$(foreach s,$(SERVICES),$(eval $(call svc_rules,$(s))))
# A service without a LINK_ line links its own library.
svc_link = $(if $(filter undefined,$(origin LINK_arrears-$(1))),$(call svc_lib,$(1)),$(LINK_arrears-$(1)))
$(foreach s,$(SERVICES),$(eval $(call link_rule,$(BIN)/arrears-$(s),$(BUILD)/services/$(s)/main.o,$(call svc_link,$(s)))))
$(foreach t,$(TOOL_NAMES),$(eval $(call link_rule,$(BIN)/arrears-$(t),$(BUILD)/tools/$(t).o,$(LINK_arrears-$(t)))))
$(foreach t,$(UNIT_NAMES),$(eval $(call link_rule,$(BUILD)/tests/$(t),$(BUILD)/tests/unit/$(t).o,$(call unit_link,$(t)) $(UNIT_HELP_LIB),-lcmocka)))
$(foreach t,$(IT_NAMES),$(eval $(call link_rule,$(BUILD)/tests/$(t),$(BUILD)/tests/integration/$(t).o,$(call it_link,$(t)),-lcmocka)))

# An empty archive member for a service with only main.c.
$(BUILD)/empty.o:
	@mkdir -p $(BUILD)
	$(Q)echo 'typedef int arrears_empty_unit;' | $(CC) -x c -c - -o $@

$(SVC_LIBS): | $(BUILD)/empty.o

deps:
	@deploy/local/deps

# `make test` alone must pass on a fresh machine: install what is missing
# (fast when nothing is), then build and run every tier.
test:
	@deploy/local/deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(UNIT_BINS) $(IT_BINS)
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) tests/run-all

test-unit: $(UNIT_BINS)
	@tests/unit/run $(UNIT_BINS)

# CI's sanitizer run (tests/run-all's san-unit tier): every unit test built
# with SANITIZE=address,undefined into its own $(BUILD)-san, binaries in
# $(BUILD)-san/bin, so the plain build is untouched. Prints "san-unit: N
# passed, N failed".
test-san:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(BUILD)-san \
		BIN=$(BUILD)-san/bin test-san-run

test-san-run: $(UNIT_BINS)
	@UNIT_TIER=san-unit tests/unit/run $(UNIT_BINS)

$(UNIT_BINS): | all

test-integration: all $(IT_BINS)
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) tests/integration/run

test-k8s:
	@tests/k8s/validate

# Every unit test and one short pipeline run under valgrind (definite
# leaks and memory errors fail); minutes, so not part of `make test`.
valgrind: all $(UNIT_BINS)
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) tests/valgrind/run

# The chaos run (docs/operations.md "Chaos run"); `make test` runs its 2-minute
# version (tests/integration/t_chaos_short.py).
# CHAOS_SECONDS, CHAOS_INVOICES, CHAOS_SEED and the other CHAOS_* settings
# come from the environment; CHAOS_ARGS=--short for the 2-minute version.
chaos: all
	@ARREARS_BIN=$(abspath $(BIN)) tests/chaos/run $(CHAOS_ARGS)

# Redis Cluster (issue 19): the cluster tests of `make test`
# (t_redis_cluster.sh: transport, failover, the notifier, ingest and the
# scheduler's cases on a local 3+3 cluster), then the integration suite's
# pipeline tests with the stack's Redis a cluster (CLUSTER_IT), then the
# 10-minute chaos run on a cluster, a master killed -9 mid-run; `make test`
# has the short one.
CLUSTER_IT := 't_e2e_pipeline.sh' 't_scheduler_*' 't_escalation.py' 't_plans.py' \
              't_contact_rules.py' 't_interest_claim.py' 't_notifier_*' 't_ingest_*' \
              't_reporter_ingest.py' 't_backtest_parity.py' 't_gateway_loop.py'
test-cluster: all $(UNIT_BINS) $(IT_BINS)
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) tests/integration/run 't_redis_cluster*'
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) ARREARS_IT_REDIS_CLUSTER=1 \
	    tests/integration/run $(CLUSTER_IT)
	@ARREARS_BIN=$(abspath $(BIN)) tests/chaos/run --redis-cluster $(CHAOS_ARGS)

fuzz: all
	@tests/fuzz/run $${ARREARS_FUZZ_SECONDS:-300}

# The soak (docs/operations.md "Soak"): SOAK_MINUTES (30), SOAK_RATE (500).
soak: all
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) $(foreach v,SOAK_MINUTES SOAK_RATE \
	  SOAK_SAMPLE,$(if $($(v)),$(v)=$($(v)))) tests/soak/run

bench: all
	@bench/run

bench-%: all
	@bench/$*/run

# The demo installs what is missing and builds by itself (deps must come
# before the first compile on a fresh machine).
demo:
	@deploy/local/demo

images:
	@deploy/docker/build-images

stack-up:
	@deploy/local/stack up
stack-down:
	@deploy/local/stack down

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Fails (and names the lines) when a tracked C file is not in .clang-format's
# style; tests/run-all runs it as the first tier of `make test`.
format-check:
	@tests/format-check

clean:
	rm -rf build build-san bin bin-san

.SECONDARY:

-include $(ALL_OBJ:.o=.d)
