# tally — build, test, run.  See README.md.
PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc

PKGS	 = fcgi libmariadb jansson libcurl libcrypto libsecp256k1 libwebsockets
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -I. \
	   -DTALLY_SHARE=\"$(PREFIX)/share/tally\" \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CORE_LIBS = $(shell pkg-config --libs jansson libcrypto libsecp256k1 2>/dev/null)
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer

ifeq ($(SANITIZE),1)
ALL_CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

# Rules with no I/O: libcore.a, the only thing unit tests link.
# Every core/*.c is a rule; the folder is the list, so a new file cannot
# be left out.
CORE_SRC = $(sort $(wildcard core/*.c))
# Operations (core/ops/), database, outbound clients: libtally.a.
OPS_SRC	 = $(sort $(wildcard core/ops/*.c) $(wildcard db/*.c) \
	   $(wildcard net/*.c))
FCGI_SRC = $(wildcard fcgi/*.c)
SCHED_SRC = sched/main.c $(wildcard sched/job_*.c)
ADMIN_SRC = sched/tally-admin.c
UNIT_SRC = $(wildcard tests/unit/test_*.c)

B	 = build
CORE_OBJ = $(CORE_SRC:%.c=$(B)/%.o)
OPS_OBJ	 = $(OPS_SRC:%.c=$(B)/%.o)
FCGI_OBJ = $(FCGI_SRC:%.c=$(B)/%.o)
SCHED_OBJ = $(SCHED_SRC:%.c=$(B)/%.o)
ADMIN_OBJ = $(ADMIN_SRC:%.c=$(B)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SAN_UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/san/tests/%)
SAN_CORE_OBJ = $(CORE_SRC:%.c=$(B)/san/%.o)

BINS	 = bin/tally-fcgi bin/tally-scheduler bin/tally-admin

.PHONY: all check unit unit-san integration integration-apache e2e run install clean lint fuzz \
	bench deps test-galera

all: $(BINS) www/vendor/qrcode.js

# The billing page's one library, vendored at build time (tests/e2e/vendor.sh).
www/vendor/qrcode.js: tests/e2e/package-lock.json tests/e2e/vendor.sh
	tests/e2e/vendor.sh

deps:
	@deploy/install-deps.sh build

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC $< (ASan+UBSan)"
	@$(CC) $(ALL_CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(B)/libcore.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libtally.a: $(OPS_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/san/libcore.a: $(SAN_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

bin/tally-fcgi: $(FCGI_OBJ) $(B)/libtally.a $(B)/libcore.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -pthread -o $@ $(FCGI_OBJ) $(B)/libtally.a \
	    $(B)/libcore.a $(LIBS)

bin/tally-scheduler: $(SCHED_OBJ) $(B)/libtally.a $(B)/libcore.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -pthread -o $@ $(SCHED_OBJ) $(B)/libtally.a \
	    $(B)/libcore.a $(LIBS)

bin/tally-admin: $(ADMIN_OBJ) $(B)/libtally.a $(B)/libcore.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -pthread -o $@ $(ADMIN_OBJ) $(B)/libtally.a \
	    $(B)/libcore.a $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Icore -o $@ $< $(B)/libcore.a $(CORE_LIBS) \
	    $(shell pkg-config --libs cmocka)

$(B)/san/tests/%: tests/unit/%.c $(B)/san/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -Icore -o $@ $< $(B)/san/libcore.a \
	    $(CORE_LIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

unit-san: $(SAN_UNIT_BIN)
	@for t in $(SAN_UNIT_BIN); do echo "== $$t (ASan+UBSan)"; \
	    ASAN_OPTIONS=detect_leaks=1 $$t || exit 1; done

integration: all
	tests/integration/run.sh

# The API and gate tests again with Apache (deploy/apache.conf) in front
# instead of lighttpd.  Left out: the tests of the scheduler, the fault
# and database-restart tests, and those that start second stacks (behind
# lighttpd either way); `TALLY_WEB=apache tests/integration/run.sh` runs
# them all (they pass, bar the respawn test, which Apache cannot do).
APACHE_TESTS = smoke auth admin credits concurrency coupons documents \
	duplicate_payments gate gifts idempotency internal invoices lightning \
	public quotas stripe subscriptions usage
integration-apache: all
	TALLY_WEB=apache tests/integration/run.sh \
	    $(APACHE_TESTS:%=tests/integration/%.test.mjs)

e2e: all
	tests/e2e/run.sh

check:
	@deploy/install-deps.sh test
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) unit-san
	tests/fuzz/run.sh replay
	$(MAKE) integration
	$(MAKE) integration-apache
	$(MAKE) e2e

# Three MariaDB Galera nodes on loopback, two pools, two schedulers, a
# node killed under load (README, Galera).  Not in check: minutes of both
# cores.
test-galera: all
	tests/galera/run.sh

run:
	@deploy/install-deps.sh run
	$(MAKE) all
	deploy/tally-dev run

bench:
	@deploy/install-deps.sh bench
	$(MAKE) all
	bench/all.sh

# House rules, then the documentation against the code (man pages lint
# clean, every config key in tally.conf(5), docs/openapi.json = the router).
lint:
	@deploy/lint.sh
	@tests/docs/run.sh

fuzz:
	tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tally/migrations \
	    $(DESTDIR)$(PREFIX)/share/tally/www $(DESTDIR)$(PREFIX)/share/doc/tally \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 db/migrations/*.sql $(DESTDIR)$(PREFIX)/share/tally/migrations/
	cp -R www/. $(DESTDIR)$(PREFIX)/share/tally/www/
	install -m 644 config.sample README.md docs/openapi.json \
	    $(DESTDIR)$(PREFIX)/share/doc/tally/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(B) bin www/vendor/qrcode.js

-include $(shell find $(B) -name '*.d' 2>/dev/null)
