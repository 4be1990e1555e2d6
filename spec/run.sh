#!/bin/sh
# Runs every spec on each Lua given as VERSION:BINARY (e.g. 5.4:lua5.4), all
# against one fake GitLab, and ends with one line: N passed, N failed.
set -u
cd "$(dirname "$0")/.." || exit 1
[ $# -gt 0 ] || set -- 5.4:lua5.4
tmp=$(mktemp -d)
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private CA and a certificate for 127.0.0.1 signed by it, for the TLS specs.
tls_cert() {
  d=$tmp/tls
  mkdir -p "$d" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=gitlab-jobs test CA" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
}

# start_fake NAME [server options]: starts a fake GitLab, waits for its URLs.
start_fake() {
  name=$1
  shift
  python3 spec/fake_gitlab/server.py --url-file "$tmp/$name.url" --parent-pid $$ "$@" \
    >"$tmp/$name.log" 2>&1 &
  pids="$pids $!"
  i=0
  while [ ! -s "$tmp/$name.url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if [ ! -s "$tmp/$name.url" ]; then
    echo "the fake GitLab ($name) did not start:" >&2
    cat "$tmp/$name.log" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
}

pids=""
start_fake plain
GITLAB_FAKE_URL=$(sed -n 1p "$tmp/plain.url")
GITLAB_FAKE_URL2=$(sed -n 2p "$tmp/plain.url")
export GITLAB_FAKE_URL GITLAB_FAKE_URL2
if command -v openssl >/dev/null && tls_cert; then
  start_fake tls --tls-cert "$tmp/tls/server.pem" --tls-key "$tmp/tls/server.key"
  GITLAB_FAKE_TLS_URL=$(sed -n 1p "$tmp/tls.url")
  GITLAB_FAKE_CA=$tmp/tls/ca.pem
  export GITLAB_FAKE_TLS_URL GITLAB_FAKE_CA
fi
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
