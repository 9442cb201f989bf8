# b4you top-level build.  `make help` lists the targets.
#
# Objects and binaries go to $(BUILD) (build/ or build-<sanitizers>/), never
# next to the sources.  Every .c file under a component's folder is part of
# it, so adding a file needs no Makefile edit.

SHELL    := /bin/bash
CC       ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build-$(subst $(comma),-,$(SANITIZE))
endif
comma    := ,
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKGS     := libevent libevent_pthreads libevent_openssl libmariadb libcjson openssl libcurl libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
            -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread -fno-strict-aliasing $(WARN) \
            -Ilibcommon/include $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -pthread -lm
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# name:folder for every binary
BINARIES := b4-api:svc-api b4-backoffice:svc-backoffice b4-checkout:svc-checkout \
            b4-worker:workers b4-gateway:gateway \
            b4-acquirer-sandbox:sandbox b4-migrate:tools/migrate \
            b4-alert-receiver:tools/alert-receiver
bin_name  = $(word 1,$(subst :, ,$1))
bin_dir   = $(word 2,$(subst :, ,$1))

LIB_SRC  := $(wildcard libcommon/src/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/lib/libb4common.a
# The version lives in one generated file, rewritten only when it changes,
# so every binary is relinked with the right one (a -D flag left it stale
# in objects that had no other reason to be recompiled).
VERSION_SRC := $(BUILD)/gen/version.c
VERSION_OBJ := $(BUILD)/obj/gen/version.o

ALL_BINS := $(foreach b,$(BINARIES),$(if $(wildcard $(call bin_dir,$b)/*.c),$(BUILD)/bin/$(call bin_name,$b)))

UNIT_SRC := $(wildcard tests/unit/*/test_*.c tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
# Integration tests: tests/integration/test_*.c, each linked with the harness.
HARNESS_SRC := $(wildcard tests/integration/harness/*.c)
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(BUILD)/obj/%.o)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)

.PHONY: all help deps test test-unit test-integration run clean fmt lint bench bench-gateway bench-launch fuzz FORCE image
all: $(LIB) $(ALL_BINS)

help:
	@echo "make            build libcommon and every binary into $(BUILD)/"
	@echo "make run        install what is missing, build, start MariaDB + all services (Ctrl-C stops all)"
	@echo "make run-api    one service in the foreground (also run-backoffice, run-checkout,"
	@echo "                run-worker, run-gateway, run-sandbox), MariaDB shared with make run"
	@echo "make restart-checkout  rebuild and restart one service under make run (any of the above)"
	@echo "make compdb     write compile_commands.json for clangd and editors"
	@echo "make test       install what is missing, build, run unit and integration tests"
	@echo "make SANITIZE=address,undefined test   the same under ASan/UBSan"
	@echo "make bench      benchmarks (see docs/BENCHMARKS.md)"
	@echo "make bench-gateway  b4-gateway vs nginx vs direct, same backend"
	@echo "make bench-launch   launch day: paid orders/s of distinct buyers vs raw commits"
	@echo "make fuzz       run the fuzz drivers for longer"
	@echo "make fmt | lint clang-format the tree | check formatting"
	@echo "make image     the container image (podman or docker; deploy/docker/Dockerfile)"
	@echo "make clean      remove build outputs (var/ is kept; rm -rf var to reset data)"

deps:
	$(Q)deploy/dev/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(VERSION_SRC): FORCE
	@mkdir -p $(dir $@)
	@printf '#include "b4/config.h"\nconst char b4_version[] = "%s";\n' '$(VERSION)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(VERSION_OBJ): $(VERSION_SRC)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

FORCE:

# One rule per binary: all .c files of its folder.
define bin_rule
$(BUILD)/bin/$(call bin_name,$1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(call bin_dir,$1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach b,$(BINARIES),$(eval $(call bin_rule,$b)))

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(HARNESS_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -Itests/integration/harness $(LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/obj/tests/integration/harness/%.o: tests/integration/harness/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -Itests/integration/harness -c -o $@ $<

tests: $(UNIT_BIN) $(ITEST_BIN)

# web/contract's npm packages (TypeScript types, the spec's lint, the live
# response check): npm ci again only when the lock file changes or
# node_modules is gone.
CONTRACT_NPM := $(BUILD)/stamps/web-contract-npm
$(CONTRACT_NPM): web/contract/package-lock.json $(if $(wildcard web/contract/node_modules/.package-lock.json),,FORCE)
	@mkdir -p $(@D)
	@echo "  NPM   web/contract"
	$(Q)cd web/contract && npm ci --no-audit --no-fund --loglevel=error
	$(Q)touch $@
# (after deps, which installs node and npm)
test: $(CONTRACT_NPM)
$(CONTRACT_NPM): | deps

# make test: the whole suite, the same command CI runs.
test: deps
	$(Q)$(MAKE) --no-print-directory all tests web
	$(Q)BUILD=$(BUILD) tests/run.sh

test-unit: all $(UNIT_BIN)
	$(Q)BUILD=$(BUILD) tests/run.sh unit

test-integration: all $(ITEST_BIN)
	$(Q)BUILD=$(BUILD) tests/run.sh integration

run: deps
	$(Q)$(MAKE) --no-print-directory all web
	$(Q)BUILD=$(BUILD) deploy/dev/run.sh

# One service at a time (README "One service at a time"): make run-api ...
DEV_SERVICES := api backoffice checkout worker gateway sandbox
.PHONY: $(addprefix run-,$(DEV_SERVICES)) $(addprefix restart-,$(DEV_SERVICES)) compdb

$(addprefix run-,$(DEV_SERVICES)): run-%: deps
	$(Q)$(MAKE) --no-print-directory all $(if $(filter gateway,$*),web)
	$(Q)BUILD=$(BUILD) deploy/dev/run-one.sh $*

$(addprefix restart-,$(DEV_SERVICES)): restart-%:
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) deploy/dev/restart.sh $*

# compile_commands.json from this Makefile's own flags: every source with
# the command its rule runs (integration tests add the harness folder).
COMPDB_FILES := $(LIB_SRC) $(foreach b,$(BINARIES),$(wildcard $(call bin_dir,$b)/*.c)) \
                $(HARNESS_SRC) $(UNIT_SRC) $(ITEST_SRC)
compdb_flags = $(filter-out -MMD -MP,$(CFLAGS))$(if $(filter tests/integration/%,$1), -Itests/integration/harness)
compdb_entry = {"directory": "$(CURDIR)", "file": "$1", "output": "$(BUILD)/obj/$(1:.c=.o)",\
 "command": "$(CC) $(call compdb_flags,$1) -c -o $(BUILD)/obj/$(1:.c=.o) $1"}
compdb:
	$(file >compile_commands.json,[)
	$(foreach f,$(COMPDB_FILES),$(file >>compile_commands.json,$(call compdb_entry,$f)$(if $(filter $f,$(lastword $(COMPDB_FILES))),,$(comma))))
	$(file >>compile_commands.json,])
	@echo "compdb: compile_commands.json, $(words $(COMPDB_FILES)) files"

bench: deps
	$(Q)$(MAKE) --no-print-directory all web
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

# b4-gateway against the same backend directly and through nginx (docs/BENCHMARKS.md)
bench-gateway: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/bench/bench_gateway.sh

# launch day: distinct buyers through gateway -> checkout -> sandbox, and the
# raw commit rate of the same MariaDB (docs/BENCHMARKS.md)
bench-launch: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/bench/bench_launch.sh

fuzz: deps
	$(Q)BUILD=$(BUILD) tests/fuzz/run.sh long

# make image: the one container image of deploy/docker/Dockerfile, built
# from the repository root with podman, or docker when its daemon answers.
# podman keeps HEALTHCHECK only in the docker format; IMAGE_BUILD_FLAGS adds
# more (e.g. --isolation=chroot --network=host where namespaces are scarce).
IMAGE ?= b4you
ENGINE ?= $(shell command -v podman 2>/dev/null || { docker info >/dev/null 2>&1 && command -v docker; })
image:
	$(Q)if [ -z "$(ENGINE)" ]; then \
		echo "make image: no container engine here (install podman: apt-get install podman, or start docker)" >&2; \
		exit 1; \
	fi
	$(Q)$(ENGINE) build -f deploy/docker/Dockerfile --build-arg B4_VERSION=$(VERSION) \
		$(if $(findstring podman,$(ENGINE)),--format docker) $(IMAGE_BUILD_FLAGS) \
		-t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

# ---- web/panel: the producer panel and the back-office (React + Vite) ----
# npm ci when the lock changes, then type check and build when a source
# changed (stamps under $(BUILD)/stamps: an up-to-date tree skips both).
panel:
	$(Q)tools/web-build.sh $(BUILD) web/panel build
.PHONY: panel
web: panel

FMT_FILES = $(shell git ls-files '*.c' '*.h')
fmt:
	$(Q)clang-format -i $(FMT_FILES)

lint:
	$(Q)clang-format --dry-run --Werror $(FMT_FILES)

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The web front-ends (web/*, npm): `npm ci` when the lock changed and
# `npm run build` when a source changed, skipped when up to date (stamps
# under $(BUILD)/stamps; tools/web-build.sh).  Only the npm registry is used.
.PHONY: web
web:
	$(Q)tools/web-build.sh $(BUILD) web/checkout build
