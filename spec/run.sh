#!/bin/sh
# Runs the fake GitLab's selftest and every spec on each Lua given as
# VERSION:BINARY (e.g. 5.4:lua5.4), all at once: each Lua against a fake
# GitLab (with its TLS and mutual TLS instances and a forward proxy) of its
# own, from tools/with-fake.sh. Prints each
# run's output in turn and ends with one line: N passed, N failed (the
# selftest's counted in). GITLAB_SPEC_SELFTEST=0 leaves the selftest out.
set -u
cd "$(dirname "$0")/.." || exit 1

# One Lua's run, inside with-fake.sh: busted on every spec, its output on stdout.
if [ "${1:-}" = "--one" ]; then
  v=${2%%:*}
  bin=${2#*:}
  # The specs choose their own credentials: nothing from the caller's environment.
  unset GITLAB_URL GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL
  GITLAB_SPEC_LUA=$bin GITLAB_SPEC_VERSION=$v
  export GITLAB_SPEC_LUA GITLAB_SPEC_VERSION
  # GITLAB_SPEC_WRAPPER runs busted under valgrind (make check-memory)
  # nvim:BINARY runs the Neovim plugin's specs (spec/nvim_spec.lua, real nvim
  # processes) under BINARY, a LuaJIT; every other run leaves them out
  specs="--exclude-pattern=nvim_spec spec" build=$v
  [ "$v" = nvim ] && specs=spec/nvim_spec.lua build=jit
  exec ${GITLAB_SPEC_WRAPPER:-} "$bin" /usr/bin/busted --lpath="lua/?.lua;lua/?/init.lua;spec/support/?.lua" \
    --cpath="build/$build/?.so" -o utfTerminal ${BUSTED_ARGS:-} $specs
fi

[ $# -gt 0 ] || set -- 5.4:lua5.4
tmp=$(mktemp -d)
pids=""
trap 'rm -rf "$tmp"' EXIT
trap '[ -n "$pids" ] && kill $pids 2>/dev/null; exit 130' INT TERM

if [ "${GITLAB_SPEC_SELFTEST:-1}" != 0 ]; then
  (python3 spec/fake_gitlab/selftest.py >"$tmp/selftest.out" 2>&1; echo $? >"$tmp/selftest.rc") &
  pids="$pids $!"
fi
n=0
for pair in "$@"; do
  n=$((n + 1))
  (sh tools/with-fake.sh --tls --mtls --proxy sh spec/run.sh --one "$pair" >"$tmp/$n.out" 2>&1; echo $? >"$tmp/$n.rc") &
  pids="$pids $!"
done
wait

passed=0 failed=0 skipped=0
# count NAME STATUS PASSED FAILED [SKIPPED]: adds one run's counts to the total.
count() {
  passed=$((passed + $3))
  failed=$((failed + $4))
  skipped=$((skipped + ${5:-0}))
  if [ "$2" -ne 0 ] && [ "$4" -eq 0 ]; then
    # nothing failed, yet the run did: valgrind, a sanitizer or the fake found an error
    echo "$1: the run exited with status $2" >&2
    failed=$((failed + 1))
  fi
}

if [ -f "$tmp/selftest.rc" ]; then
  echo "== fake GitLab selftest"
  cat "$tmp/selftest.out"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/selftest.out" | tail -1)
  if [ -n "$line" ]; then
    read -r s _ f _ <<EOT
$line
EOT
    count "the selftest" "$(cat "$tmp/selftest.rc")" "$s" "$f"
  else
    echo "the fake GitLab selftest did not finish" >&2
    failed=$((failed + 1))
  fi
fi

n=0
for pair in "$@"; do
  n=$((n + 1))
  v=${pair%%:*}
  echo "== Lua $v (${pair#*:})"
  cat "$tmp/$n.out"
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/$n.out" | grep -E '^[0-9]+ success' | tail -1)
  if [ -z "$line" ]; then
    echo "busted did not finish on Lua $v" >&2
    failed=$((failed + 1))
    continue
  fi
  # "S successes / F failures / E errors / P pending : T seconds"
  read -r s _ _ f _ _ e _ _ p _ <<EOT
$line
EOT
  count "Lua $v" "$(cat "$tmp/$n.rc")" "$s" $((f + e)) "$p"
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
