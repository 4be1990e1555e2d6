#!/bin/sh
# Runs every spec on each Lua given as VERSION:BINARY (e.g. 5.4:lua5.4), all
# against one fake GitLab, and ends with one line: N passed, N failed.
set -u
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || set -- 5.4:lua5.4
tmp=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 spec/fake_gitlab/server.py --url-file "$tmp/url" --parent-pid $$ >"$tmp/server.log" 2>&1 &
srv=$!
i=0
while [ ! -s "$tmp/url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$tmp/url" ]; then
  echo "the fake GitLab did not start:" >&2
  cat "$tmp/server.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
GITLAB_FAKE_URL=$(sed -n 1p "$tmp/url")
GITLAB_FAKE_URL2=$(sed -n 2p "$tmp/url")
export GITLAB_FAKE_URL GITLAB_FAKE_URL2
# The specs choose their own credentials: nothing from the caller's environment.
unset GITLAB_URL GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL

passed=0 failed=0 skipped=0
for pair in "$@"; do
  v=${pair%%:*}
  bin=${pair#*:}
  echo "== Lua $v ($bin)"
  GITLAB_SPEC_LUA=$bin GITLAB_SPEC_VERSION=$v
  export GITLAB_SPEC_LUA GITLAB_SPEC_VERSION
  "$bin" /usr/bin/busted --lpath="lua/?.lua;lua/?/init.lua;spec/support/?.lua" \
    --cpath="build/$v/?.so" -o utfTerminal ${BUSTED_ARGS:-} spec >"$tmp/out" 2>&1
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
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
