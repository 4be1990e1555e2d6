# gitlab-jobs: build, test, lint, demo and install for Lua 5.1-5.4 and LuaJIT.
# `make test` and `make demo` work as the first command on a fresh Debian 12:
# what is missing is installed with apt-get (as root) or named for you.

LUA_VERSIONS ?= 5.1 5.2 5.3 5.4 jit
PKG_5.1 = lua5.1
PKG_5.2 = lua5.2
PKG_5.3 = lua5.3
PKG_5.4 = lua5.4
PKG_jit = luajit
BIN_5.1 = lua5.1
BIN_5.2 = lua5.2
BIN_5.3 = lua5.3
BIN_5.4 = lua5.4
BIN_jit = luajit

CC ?= cc
OPT ?= -O2 -g
WARN = -Wall -Wextra -Wpedantic -Wmissing-prototypes -Wshadow -Werror
# The module's sources, bottom first; the rockspec lists the same (a spec checks it).
SRC = src/util.c src/buf.c src/args.c src/request.c src/answer.c src/budget.c src/file.c src/body.c \
  src/call.c src/tries.c src/response.c src/curl_transport.c src/lua_transport.c \
  src/build.c src/artifacts.c src/calls.c src/options.c src/client.c src/run.c src/poll.c src/step.c src/module.c
# The response reader alone, for the fuzzer: no libcurl, no client.
READER_SRC = src/util.c src/buf.c src/answer.c src/request.c src/response.c
HDR = $(wildcard src/*.h)
BUILD = build

# One compile command for every build (module, sanitizers, fuzzer):
# $(call compile,COMPILER,FLAGS,LUA_PKG,SOURCES,LIBS)
compile = $(1) $(2) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) \
  $$(pkg-config --cflags $(3) libcurl) -o $@ $(4) $(5)

APT_PACKAGES = gcc make pkg-config python3 \
  lua5.1 lua5.2 lua5.3 lua5.4 luajit2 \
  liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev libluajit2-5.1-dev \
  lua-cjson libcurl4-openssl-dev lua-busted lua-check lua-socket openssl \
  lua-argparse lua-ldoc lua-markdown

.PHONY: all build deps test lint demo clean install check-python-gitlab check-memory fuzz bench check-rockspec check-hosts doc check-nvim

# `make` alone (a plugin manager's build step: `make LUA_VERSIONS=jit`) needs only what
# compiling needs, for the Luas asked; `make build` and the targets on it need the rest too.
DEV_5.1 = liblua5.1-0-dev
DEV_5.2 = liblua5.2-dev
DEV_5.3 = liblua5.3-dev
DEV_5.4 = liblua5.4-dev
DEV_jit = libluajit2-5.1-dev
all:
	@command -v $(CC) >/dev/null && pkg-config --exists libcurl $(foreach v,$(LUA_VERSIONS),$(PKG_$(v))) \
	  || sh tools/deps.sh gcc make pkg-config libcurl4-openssl-dev $(foreach v,$(LUA_VERSIONS),$(DEV_$(v)))
	@for v in $(LUA_VERSIONS); do $(MAKE) -s --no-print-directory $(BUILD)/$$v/gitlab/jobs/core.so || exit 1; done

deps:
	@sh tools/deps.sh $(APT_PACKAGES)

build: deps
	@for v in $(LUA_VERSIONS); do $(MAKE) -s --no-print-directory $(BUILD)/$$v/gitlab/jobs/core.so || exit 1; done

# One shared object per Lua version; only luaopen_gitlab_jobs_core is visible.
MODULE_FLAGS = $(OPT) -fPIC -fvisibility=hidden -shared $(CFLAGS)
$(BUILD)/%/gitlab/jobs/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(dir $@)
	$(call compile,$(CC),$(MODULE_FLAGS),$(PKG_$*),$(SRC),$$(pkg-config --libs libcurl) -lpthread -lm $(LDFLAGS))

# With LuaJIT built, the Neovim plugin's specs run beside the Lua versions (nvim:luajit).
NVIM_RUN = $(if $(filter jit,$(LUA_VERSIONS)),nvim:$(BIN_jit))
test: build
	@$(if $(NVIM_RUN),sh tools/deps.sh neovim tmux git curl)
	@sh spec/run.sh $(foreach v,$(LUA_VERSIONS),$(v):$(BIN_$(v))) $(NVIM_RUN)

# The Neovim plugin's specs alone: real nvim processes against the fake GitLab.
check-nvim: deps
	@sh tools/deps.sh neovim tmux git curl
	@$(MAKE) -s --no-print-directory $(BUILD)/jit/gitlab/jobs/core.so
	@GITLAB_SPEC_SELFTEST=0 sh spec/run.sh nvim:$(BIN_jit)

lint: deps
	luacheck -q lua plugin spec examples bench
	luacheck -q bin/gitlab-jobs

bench: build
	@sh tools/deps.sh python3-gitlab curl time
	@sh bench/run.sh 5.4:lua5.4 jit:luajit

demo: build
	@sh examples/run-demo.sh $(BIN_5.4)

check-python-gitlab: deps
	@command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import gitlab' 2>/dev/null \
	  || sh tools/deps.sh python3-gitlab
	/usr/bin/python3 spec/fake_gitlab/check_python_gitlab.py

# The Lua 5.4 suite under valgrind, then against an AddressSanitizer and
# UBSan build of the module (the interpreter preloads the sanitizer runtimes).
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --suppressions=tools/valgrind.supp
SAN = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
check-memory: deps
	@sh tools/deps.sh valgrind
	@$(MAKE) -s --no-print-directory $(BUILD)/5.4/gitlab/jobs/core.so $(BUILD)/asan-5.4/gitlab/jobs/core.so
	GITLAB_SPEC_SELFTEST=0 GITLAB_SPEC_WRAPPER="$(VALGRIND)" sh spec/run.sh 5.4:lua5.4
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 GITLAB_SPEC_SELFTEST=0 \
	  sh spec/run.sh asan-5.4:lua5.4

PKG_asan-5.4 = lua5.4
$(BUILD)/asan-5.4/gitlab/jobs/core.so: OPT = -O1 -g $(SAN)

# libFuzzer over the response reader, FUZZ_SECONDS long, from the seed corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	@sh tools/deps.sh clang libclang-rt-14-dev
	@$(MAKE) -s --no-print-directory $(BUILD)/fuzz/fuzz_response
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_response -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus fuzz/corpus

FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer,address,undefined,float-cast-overflow -fno-sanitize-recover=all
$(BUILD)/fuzz/fuzz_response: fuzz/fuzz_response.c $(READER_SRC) $(HDR) Makefile
	@mkdir -p $(dir $@)
	$(call compile,clang,$(FUZZ_FLAGS),lua5.4,fuzz/fuzz_response.c $(READER_SRC),$$(pkg-config --libs lua5.4) -lm)

# The module inside real hosts: Neovim (LuaJIT, a libuv timer polling started
# calls), HAProxy (Lua 5.3, an HTTP service) and nginx's Lua module (LuaJIT,
# a cosocket transport that yields). LuaJIT is OpenResty's branch (luajit2),
# the one nginx's Lua module links with.
check-hosts: build
	@sh tools/deps.sh neovim haproxy nginx libnginx-mod-http-lua
	@sh spec/hosts/run.sh

# The rockspec builds with LuaRocks' builtin backend, the result loads, and its
# command runs (its wrapper finds only trees LuaRocks is configured with: this
# temporary one is given by LUA_PATH and LUA_CPATH).
check-rockspec: deps
	@sh tools/deps.sh luarocks
	@tree=$$(mktemp -d) && \
	luarocks --lua-version 5.4 make --tree "$$tree" --deps-mode=none gitlab-jobs-scm-1.rockspec >"$$tree/log" 2>&1 \
	  || { cat "$$tree/log"; rm -rf "$$tree"; exit 1; }; \
	lua5.4 -e "package.path='$$tree/share/lua/5.4/?.lua;'..package.path \
	  package.cpath='$$tree/lib/lua/5.4/?.so;'..package.cpath \
	  local g = require('gitlab.jobs') assert(g.new{url='http://127.0.0.1:9'}.each and g.filter) \
	  print('rockspec: gitlab.jobs ' .. g.VERSION .. ' installs and loads')" && \
	LUA_PATH="$$tree/share/lua/5.4/?.lua;;" LUA_CPATH="$$tree/lib/lua/5.4/?.so;;" "$$tree/bin/gitlab-jobs" --version; \
	rc=$$?; rm -rf "$$tree"; exit $$rc

LUA_INSTALL_VERSION ?= 5.4
PREFIX ?= /usr/local
# The installed command finds the modules installed beside it, whatever the
# Lua's own search path holds.
INSTALL_PATHS = package.path = "$(PREFIX)/share/lua/$(LUA_INSTALL_VERSION)/?.lua;" .. package.path \
  package.cpath = "$(PREFIX)/lib/lua/$(LUA_INSTALL_VERSION)/?.so;" .. package.cpath
install: build
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_INSTALL_VERSION)/gitlab/jobs
	install -m 755 $(BUILD)/$(LUA_INSTALL_VERSION)/gitlab/jobs/core.so $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_INSTALL_VERSION)/gitlab/jobs/
	install -d $(DESTDIR)$(PREFIX)/share/lua/$(LUA_INSTALL_VERSION)/gitlab/jobs
	install -m 644 lua/gitlab/jobs.lua $(DESTDIR)$(PREFIX)/share/lua/$(LUA_INSTALL_VERSION)/gitlab/
	install -m 644 lua/gitlab/jobs/*.lua $(DESTDIR)$(PREFIX)/share/lua/$(LUA_INSTALL_VERSION)/gitlab/jobs/
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	sed -e '1i #!/usr/bin/env $(BIN_$(LUA_INSTALL_VERSION))' -e '1c $(INSTALL_PATHS)' bin/gitlab-jobs \
	  >$(DESTDIR)$(PREFIX)/bin/gitlab-jobs
	chmod 755 $(DESTDIR)$(PREFIX)/bin/gitlab-jobs
	install -m 644 doc/gitlab-jobs.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# The API reference in doc/api/ (LDoc, from doc/config.ld: doc/ldoc/core.luadoc
# and the comments of lua/; it runs on Lua 5.1, where Debian's lua-markdown
# is), and the man page, made from the command's own option tables.
doc: deps
	@$(MAKE) -s --no-print-directory $(BUILD)/5.4/gitlab/jobs/core.so
	lua5.1 "$$(command -v ldoc)" -c doc/config.ld .
	LUA_PATH="lua/?.lua;;" LUA_CPATH="$(BUILD)/5.4/?.so;;" $(BIN_5.4) \
	  -e 'io.write(require("gitlab.jobs.cli_man").render(require("gitlab.jobs")))' >doc/gitlab-jobs.1

clean:
	rm -rf $(BUILD)
