# cbshim - a circuit breaker for unmodified programs.
#
#   make            build build/libcbshim.so and build/cbctl
#   make check      unit tests (plain, ASan+UBSan, TSan), mutants, then the bats suite
#   make mutants    only the mutants: each known wrong implementation is caught
#   make demo       a narrated scenario on real programs
#   make bench      benchmarks, printing ratios
#   make deps       install the build and test dependencies (Debian)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        a Debian package (dpkg-buildpackage) into build/deb/

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0

CC ?= cc
B ?= build
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 -O2 -g -pthread -fPIC -fvisibility=hidden \
	-D_GNU_SOURCE -DCB_VERSION='"$(VERSION)"' -DCB_LIBDIR='"$(LIBDIR)"' \
	$(WARN) -MMD -MP
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN) $(CPPFLAGS) $(CFLAGS)
LIBS := -lconfig -ldl -pthread
# the shim loads libconfig on first use (shim/libconfig_dl.c)
SHIM_LIBS := -ldl -pthread

# interpose.c last: its hot functions then follow the other files' in the
# library's .text.hot (see CB_HOT in shim/breaker.h)
SHIM_SRCS := $(filter-out shim/interpose.c,$(wildcard shim/*.c)) \
	shim/interpose.c
CORE_SRCS := $(filter-out shim/interpose.c shim/libconfig_dl.c shim/resolver.c,\
	$(SHIM_SRCS))
CBCTL_SRCS := $(wildcard cbctl/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
BENCH_SRCS := $(wildcard bench/*.c)

SHIM_OBJS := $(SHIM_SRCS:%.c=$(B)/obj/%.o)
# no jump tables and no vectorised stores in the shim: a switch's table,
# or a vector constant, is one more page (.rodata) touched right after a
# system call (see CB_HOT in shim/breaker.h)
$(SHIM_OBJS): ALL_CFLAGS += -fno-jump-tables -fno-tree-slp-vectorize
CORE_OBJS := $(CORE_SRCS:%.c=$(B)/obj/%.o)
CBCTL_OBJS := $(CBCTL_SRCS:%.c=$(B)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)
HELPER_BINS := $(HELPER_SRCS:%.c=$(B)/%)
BENCH_BINS := $(BENCH_SRCS:%.c=$(B)/%)

.SECONDARY:
.PHONY: all check demo bench install uninstall clean deps deps-check \
	asan tsan unit helpers lint fuzz deb mutants

all: $(B)/libcbshim.so $(B)/cbctl

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# -z lazy, even after a hardening -z now: every process that inherits
# LD_PRELOAD pays for binding all of the shim's imports at load (~7 µs
# here), most never call them; lazy binding is async-signal-safe in glibc
$(B)/libcbshim.so: $(SHIM_OBJS)
	$(CC) -shared $(SAN) $(LDFLAGS) -Wl,-z,lazy -Wl,-z,defs -o $@ $^ $(SHIM_LIBS)

$(B)/cbctl: $(CBCTL_OBJS) $(CORE_OBJS)
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(LIBS) -lmicrohttpd -lm

# The crash-point tests link the core compiled with -DCB_CRASH_POINTS
# (shim/crashpoint.h); the library and every other binary have none.
CRASH_OBJS := $(CORE_SRCS:%.c=$(B)/crash/%.o)

$(B)/crash/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DCB_CRASH_POINTS -c $< -o $@

$(B)/tests/unit/test_crash: $(B)/obj/tests/unit/test_crash.o $(CRASH_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS) -lm

$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS) -lm

# cbctl's pure parts that have unit tests of their own
$(B)/tests/unit/test_rates: $(B)/obj/cbctl/rates.o

$(B)/tests/helpers/%: $(B)/obj/tests/helpers/%.o
	@mkdir -p $(@D)
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ -pthread

$(B)/bench/%: $(B)/obj/bench/%.o $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lm

# the baseline of the process-start row: an empty preload library
$(B)/bench/empty.so: bench/empty/empty.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 $(LDFLAGS) -o $@ $<

unit: $(UNIT_BINS)
helpers: $(HELPER_BINS)

asan:
	$(MAKE) B=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit build-asan/libcbshim.so
tsan:
	$(MAKE) B=build-tsan SAN="-fsanitize=thread" unit

deps:
	tests/deps.sh install

deps-check:
	@tests/deps.sh ensure

# The tally "N passed, N failed" stays the last line: when tests fail, make
# would append "make: *** [check] Error 1" after it, so the recipe stops
# make with SIGPIPE instead (make does not catch it and shells do not
# report it; make check then exits 141).  Under --output-sync make prints
# the recipe's output only when it ends, so there it fails the usual way.
CHECK_FAILED = $(if $(filter-out -Onone,$(filter -O%,$(MAKEFLAGS))),exit 1,kill -PIPE $$PPID; exit 1)

check: deps-check
	$(MAKE) all unit helpers
	$(MAKE) asan
	$(MAKE) tsan
	@tests/check.sh || { $(CHECK_FAILED); }

# tests/mutants/README; builds what it needs itself, from a snapshot
mutants: deps-check
	tests/mutants/run.sh

demo: deps-check all helpers
	tests/demo.sh

bench: deps-check all helpers $(BENCH_BINS) $(B)/bench/empty.so
	bench/run.sh

fuzz: deps-check
	fuzz/run.sh

# dpkg-buildpackage writes next to the source tree; the results are moved
# into $(B)/deb/ (debian/rules builds in build-deb/, not in $(B))
deb:
	dpkg-buildpackage -us -uc -b
	mkdir -p $(B)/deb
	mv ../cbshim_$(VERSION)_*.deb ../cbshim_$(VERSION)_*.buildinfo \
	  ../cbshim_$(VERSION)_*.changes ../cbshim-dbgsym_$(VERSION)_*.deb \
	  $(B)/deb/
	@ls $(B)/deb/*.deb

lint:
	mandoc -T lint -W warning man/*.[0-9]

install: all
	install -D -m 0755 $(B)/cbctl $(DESTDIR)$(BINDIR)/cbctl
	install -D -m 0755 $(B)/libcbshim.so $(DESTDIR)$(LIBDIR)/libcbshim.so
	for m in man/*.[0-9]; do s=$${m##*.}; \
	  install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} || exit 1; done
	install -D -m 0644 cb.conf.example $(DESTDIR)$(SYSCONFDIR)/cbshim/cb.conf.example
	if [ -f contrib/cbctl.bash-completion ]; then install -D -m 0644 \
	  contrib/cbctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/cbctl; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cbctl $(DESTDIR)$(LIBDIR)/libcbshim.so \
	  $(DESTDIR)$(SYSCONFDIR)/cbshim/cb.conf.example \
	  $(DESTDIR)$(COMPLETIONDIR)/cbctl
	for m in man/*.[0-9]; do s=$${m##*.}; \
	  rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/cbshim 2>/dev/null

clean:
	rm -rf $(B) build-asan build-tsan build-fuzz

# the compiler's dependency files, for every directory of sources
-include $(wildcard $(B)/obj/*/*.d $(B)/obj/*/*/*.d $(B)/crash/*/*.d)
