#!/bin/sh
# Runs the fake GitLab's selftest, then every spec on each Lua given as
# VERSION:BINARY (e.g. 5.4:lua5.4), all against one fake GitLab (and its TLS
# instance), and ends with one line: N passed, N failed, the selftest's counted in.
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
# count NAME STATUS PASSED FAILED [SKIPPED]: adds one run's counts to the total.
count() {
  passed=$((passed + $3))
  failed=$((failed + $4))
  skipped=$((skipped + ${5:-0}))
  if [ "$2" -ne 0 ] && [ "$4" -eq 0 ]; then
    # nothing failed, yet the run did: valgrind or a sanitizer found an error
    echo "$1: the run exited with status $2" >&2
    failed=$((failed + 1))
  fi
}

# The fake GitLab's own checks, once per run; it ends with "N passed, N failed".
echo "== fake GitLab selftest"
python3 spec/fake_gitlab/selftest.py >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/out" | tail -1)
if [ -n "$line" ]; then
  read -r s _ f _ <<EOT
$line
EOT
  count "the selftest" "$rc" "$s" "$f"
else
  echo "the fake GitLab selftest did not finish" >&2
  failed=$((failed + 1))
fi

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
  count "Lua $v" "$rc" "$s" $((f + e)) "$p"
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
