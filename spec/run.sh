#!/bin/sh
# Runs every spec on each Lua given as VERSION:BINARY (e.g. 5.4:lua5.4), all
# against one fake GitLab, and ends with one line: N passed, N failed.
set -u
cd "$(dirname "$0")/.." || exit 1
# The fakes (plain and TLS) come from tools/with-fake.sh, which runs this
# script again inside it; when they cannot start, the total still ends the output.
if [ "${1:-}" != "--with-fake" ]; then
  sh tools/with-fake.sh --tls sh spec/run.sh --with-fake "$@"
  rc=$?
  [ "$rc" -eq 125 ] && echo "0 passed, 1 failed"
  exit "$rc"
fi
shift
[ $# -gt 0 ] || set -- 5.4:lua5.4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The specs choose their own credentials: nothing from the caller's environment.
unset GITLAB_URL GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL

passed=0 failed=0 skipped=0
for pair in "$@"; do
  v=${pair%%:*}
  bin=${pair#*:}
  echo "== Lua $v ($bin)"
  GITLAB_SPEC_LUA=$bin GITLAB_SPEC_VERSION=$v
  export GITLAB_SPEC_LUA GITLAB_SPEC_VERSION
  # GITLAB_SPEC_WRAPPER runs busted under valgrind (make check-memory)
  ${GITLAB_SPEC_WRAPPER:-} "$bin" /usr/bin/busted --lpath="lua/?.lua;lua/?/init.lua;spec/support/?.lua" \
    --cpath="build/$v/?.so" -o utfTerminal ${BUSTED_ARGS:-} spec >"$tmp/out" 2>&1
  rc=$?
  cat "$tmp/out"
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/out" | grep -E '^[0-9]+ success' | tail -1)
  if [ -z "$line" ]; then
    echo "busted did not finish on Lua $v" >&2
    failed=$((failed + 1))
    continue
  fi
  # "S successes / F failures / E errors / P pending : T seconds"
  read -r s _ _ f _ _ e _ _ p _ <<EOT
$line
EOT
  passed=$((passed + s))
  failed=$((failed + f + e))
  skipped=$((skipped + p))
  if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
    # every spec passed, yet the run failed: valgrind or a sanitizer found an error
    echo "Lua $v: the run exited with status $rc" >&2
    failed=$((failed + 1))
  fi
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
