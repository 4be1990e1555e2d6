#!/bin/sh
# tools/with-fake.sh [--tls] [--] COMMAND [ARG...]
#
# Runs COMMAND with the fake GitLab (spec/fake_gitlab/server.py) started for it,
# and exports its listeners' URLs as GITLAB_FAKE_URL and GITLAB_FAKE_URL2 (the API),
# and GITLAB_FAKE_STORAGE_URL (its object storage).
# --tls also starts a second fake speaking HTTPS with a certificate for 127.0.0.1
# signed by a private CA made with openssl: GITLAB_FAKE_TLS_URL (its storage:
# GITLAB_FAKE_TLS_STORAGE_URL), and GITLAB_FAKE_CA the CA's PEM file. The fakes are stopped when COMMAND ends, and on INT or TERM.
# Exits with COMMAND's status, or 125 when a fake cannot be started or (--tls)
# openssl cannot make the certificate: the reason and the logs are on stderr.
set -u
root=$(cd "$(dirname "$0")/.." && pwd) || exit 125
tls=0
while [ $# -gt 0 ]; do
  case $1 in
    --tls) tls=1; shift ;;
    --) shift; break ;;
    -*) echo "with-fake.sh: unknown option $1" >&2; exit 125 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: tools/with-fake.sh [--tls] [--] COMMAND [ARG...]" >&2
  exit 125
fi

tmp=$(mktemp -d) || exit 125
fakes=""
cmd=""
stop_fakes() {
  [ -n "$fakes" ] && kill $fakes 2>/dev/null
  fakes=""
}
cleanup() { stop_fakes; rm -rf "$tmp"; }
# on a signal: the fakes go at once, the command is told to stop and waited for
on_signal() {
  stop_fakes
  [ -n "$cmd" ] && kill "$cmd" 2>/dev/null && wait "$cmd"
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# start NAME [server options]: starts a fake, waits (10 s at most) for its URL file
# (written whole at once: one line per listener).
start() {
  name=$1
  shift
  python3 "$root/spec/fake_gitlab/server.py" --url-file "$tmp/$name.url" --parent-pid $$ "$@" \
    >"$tmp/$name.log" 2>&1 &
  pid=$!
  fakes="$fakes $pid"
  i=0
  while [ ! -s "$tmp/$name.url" ] && [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
  done
  if [ ! -s "$tmp/$name.url" ]; then
    echo "with-fake.sh: the fake GitLab ($name) did not start:" >&2
    cat "$tmp/$name.log" >&2
    exit 125
  fi
}

# A private CA and a certificate for 127.0.0.1 signed by it (openssl's words in tls/log).
tls_cert() {
  d=$tmp/tls
  mkdir -p "$d" && : >"$d/log" || return 1
  command -v openssl >/dev/null || { echo "openssl: not found" >"$d/log"; return 1; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=gitlab-jobs test CA" 2>>"$d/log" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" 2>>"$d/log" &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>>"$d/log"
}

start plain
GITLAB_FAKE_URL=$(sed -n 1p "$tmp/plain.url")
GITLAB_FAKE_URL2=$(sed -n 2p "$tmp/plain.url")
GITLAB_FAKE_STORAGE_URL=$(sed -n 3p "$tmp/plain.url")
export GITLAB_FAKE_URL GITLAB_FAKE_URL2 GITLAB_FAKE_STORAGE_URL
if [ $tls -eq 1 ]; then
  if ! tls_cert; then
    echo "with-fake.sh: cannot make the TLS certificate (openssl is needed):" >&2
    cat "$tmp/tls/log" >&2
    exit 125
  fi
  start tls --tls-cert "$tmp/tls/server.pem" --tls-key "$tmp/tls/server.key"
  GITLAB_FAKE_TLS_URL=$(sed -n 1p "$tmp/tls.url")
  GITLAB_FAKE_TLS_STORAGE_URL=$(sed -n 3p "$tmp/tls.url")
  GITLAB_FAKE_CA=$tmp/tls/ca.pem
  export GITLAB_FAKE_TLS_URL GITLAB_FAKE_TLS_STORAGE_URL GITLAB_FAKE_CA
fi

# In the background so that a signal reaches the traps above at once; with the
# caller's stdin (not /dev/null) and SIGINT as it was (not ignored), as in the foreground.
exec 3<&0
env --default-signal=INT "$@" <&3 3<&- &
cmd=$!
wait "$cmd"
rc=$?
cmd=""
exit $rc
