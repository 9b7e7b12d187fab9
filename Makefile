# Makefile -- builds the four arrears services, their tools and tests.
#
#   make                 build bin/arrears-*
#   make test            unit + integration (+ fuzz smoke, k8s validation)
#   make SANITIZE=address,undefined test
#   make V=1             show the commands
#
# Layout (docs/conventions.md): common/*.c -> build/libcommon.a;
# services/<svc>/main.c -> bin/arrears-<svc>, the rest of services/<svc>/*.c
# -> build/libsvc_<svc>.a; tools/<t>.c -> bin/arrears-<t>;
# tests/unit/test_*.c -> build/tests/test_*.

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

TOOL_SRC  := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BIN)/arrears-%,$(TOOL_SRC))

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

IT_SRC    := $(wildcard tests/integration/it_*.c)
IT_BINS   := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(IT_SRC))

ALL_OBJ := $(COMMON_OBJ) $(CONTRACT_OBJ) $(foreach s,$(SERVICES),$(call svc_obj,$(s)) $(BUILD)/services/$(s)/main.o) \
           $(TOOL_SRC:%.c=$(BUILD)/%.o) $(UNIT_SRC:%.c=$(BUILD)/%.o) $(IT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps test test-run test-unit test-integration test-k8s fuzz demo \
        bench images \
        clean distclean format stack-up stack-down check-config

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

# A service library another service's binary needs: the reporter's offline
# replay validates inbound events with ingest's own normalizer.
SVC_DEPS_reporter := ingest

define svc_rules
$(call svc_lib,$(1)): $(call svc_obj,$(1))
	$$(call say,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^ $$(if $$^,,$(BUILD)/empty.o)
$(BIN)/arrears-$(1): $(BUILD)/services/$(1)/main.o $(call svc_lib,$(1)) $(foreach d,$(SVC_DEPS_$(1)),$(call svc_lib,$(d))) $(CONTRACT_LIB) $(COMMON_LIB)
	@mkdir -p $(BIN)
	$$(call say,LINK,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call svc_rules,$(s))))

# An empty archive member for a service with only main.c.
$(BUILD)/empty.o:
	@mkdir -p $(BUILD)
	$(Q)echo 'typedef int arrears_empty_unit;' | $(CC) -x c -c - -o $@

$(SVC_LIBS): | $(BUILD)/empty.o

$(BIN)/arrears-%: $(BUILD)/tools/%.o $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB)
	@mkdir -p $(BIN)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB) -Wl,--end-group $(LDLIBS)

$(BUILD)/tests/it_%: $(BUILD)/tests/integration/it_%.o $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB) -Wl,--end-group $(LDLIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(SVC_LIBS) $(CONTRACT_LIB) $(COMMON_LIB) -Wl,--end-group $(LDLIBS) -lcmocka

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

$(UNIT_BINS): | all

test-integration: all $(IT_BINS)
	@BUILD=$(BUILD) ARREARS_BIN=$(abspath $(BIN)) tests/integration/run

test-k8s:
	@tests/k8s/validate

fuzz: all
	@tests/fuzz/run $${ARREARS_FUZZ_SECONDS:-300}

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

clean:
	rm -rf build build-san bin bin-san

.SECONDARY:

-include $(ALL_OBJ:.o=.d)
