#!/bin/sh
# tools/with-fake.sh [--tls] [--mtls] [--proxy] [--] COMMAND [ARG...]
#
# Runs COMMAND with the fake GitLab (spec/fake_gitlab/server.py) started for it,
# and exports its listeners' URLs as GITLAB_FAKE_URL and GITLAB_FAKE_URL2 (the API),
# and GITLAB_FAKE_STORAGE_URL (its object storage).
# --tls also starts a second fake speaking HTTPS with a certificate for 127.0.0.1
# signed by a private CA made with openssl: GITLAB_FAKE_TLS_URL (its storage:
# GITLAB_FAKE_TLS_STORAGE_URL), and GITLAB_FAKE_CA the CA's PEM file.
# --mtls also starts a fake speaking HTTPS that requires a client certificate signed
# by that CA (mutual TLS): GITLAB_FAKE_MTLS_URL; GITLAB_FAKE_CLIENT_CERT and
# GITLAB_FAKE_CLIENT_KEY, a certificate and key it accepts; GITLAB_FAKE_OTHER_CERT and
# GITLAB_FAKE_OTHER_KEY, one signed by another CA, which it refuses; GITLAB_FAKE_CA.
# --proxy also starts a forward HTTP proxy (spec/fake_gitlab/proxy.py, CONNECT too):
# GITLAB_FAKE_PROXY_URL, and GITLAB_FAKE_PROXY_CONTROL the URL of its record and options.
# Everything started is stopped when COMMAND ends, and on INT or TERM.
# Exits with COMMAND's status, or 125 when a server cannot be started or (--tls,
# --mtls) openssl cannot make the certificates: the reason and the logs are on stderr.
set -u
root=$(cd "$(dirname "$0")/.." && pwd) || exit 125
tls=0 mtls=0 proxy=0
while [ $# -gt 0 ]; do
  case $1 in
    --tls) tls=1; shift ;;
    --mtls) mtls=1; shift ;;
    --proxy) proxy=1; shift ;;
    --) shift; break ;;
    -*) echo "with-fake.sh: unknown option $1" >&2; exit 125 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: tools/with-fake.sh [--tls] [--mtls] [--proxy] [--] COMMAND [ARG...]" >&2
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

# launch NAME [server options]: starts a server in the background; SERVER (default
# server.py) names the program in spec/fake_gitlab. All are launched before any is
# waited for, so that their start-ups overlap.
launch() {
  name=$1
  shift
  python3 "$root/spec/fake_gitlab/${SERVER:-server.py}" --url-file "$tmp/$name.url" --parent-pid $$ "$@" \
    >"$tmp/$name.log" 2>&1 &
  fakes="$fakes $!"
  eval "pid_$name=$!"
}
# url NAME LINE: waits (10 s at most) for NAME's URL file (written whole at once: one
# line per listener) and prints its line LINE.
url() {
  eval "pid=\$pid_$1"
  i=0
  while [ ! -s "$tmp/$1.url" ] && [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.05
    i=$((i + 1))
  done
  if [ ! -s "$tmp/$1.url" ]; then
    echo "with-fake.sh: the $1 server did not start:" >&2
    cat "$tmp/$1.log" >&2
    return 1
  fi
  sed -n "$2p" "$tmp/$1.url"
}

d=$tmp/tls
# ca NAME CN: a private CA, d/NAME.pem and d/NAME.key (openssl's words in tls/log).
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$d/$1.key" -out "$d/$1.pem" -subj "/CN=$2" 2>>"$d/log"
}
# cert NAME CA CN EXTENSIONS: d/NAME.pem and d/NAME.key, signed by the CA d/CA.pem.
cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/$1.key" -out "$d/$1.csr" -subj "/CN=$3" 2>>"$d/log" &&
  printf "$4" >"$d/$1.ext" &&
  openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2.key" -CAcreateserial \
    -days 2 -extfile "$d/$1.ext" -out "$d/$1.pem" 2>>"$d/log"
}
# The private CA and a certificate for 127.0.0.1 signed by it.
tls_cert() {
  mkdir -p "$d" && : >"$d/log" || return 1
  command -v openssl >/dev/null || { echo "openssl: not found" >"$d/log"; return 1; }
  ca ca "gitlab-jobs test CA" &&
  cert server ca 127.0.0.1 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n'
}
# Client certificates: one from the CA, one from a CA the mTLS fake does not trust.
client_certs() {
  ext='basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
  cert client ca "gitlab-jobs test client" "$ext" &&
  ca other-ca "another CA" &&
  cert other other-ca "gitlab-jobs stranger" "$ext"
}

launch plain
[ $proxy -eq 1 ] && SERVER=proxy.py launch proxy
if [ $tls -eq 1 ] || [ $mtls -eq 1 ]; then
  if ! tls_cert || { [ $mtls -eq 1 ] && ! client_certs; }; then
    echo "with-fake.sh: cannot make the TLS certificates (openssl is needed):" >&2
    cat "$d/log" >&2
    exit 125
  fi
  GITLAB_FAKE_CA=$d/ca.pem
  export GITLAB_FAKE_CA
fi
[ $tls -eq 1 ] && launch tls --tls-cert "$d/server.pem" --tls-key "$d/server.key"
[ $mtls -eq 1 ] && launch mtls --tls-cert "$d/server.pem" --tls-key "$d/server.key" --tls-client-ca "$d/ca.pem"

GITLAB_FAKE_URL=$(url plain 1) && GITLAB_FAKE_URL2=$(url plain 2) &&
  GITLAB_FAKE_STORAGE_URL=$(url plain 3) || exit 125
export GITLAB_FAKE_URL GITLAB_FAKE_URL2 GITLAB_FAKE_STORAGE_URL
if [ $tls -eq 1 ]; then
  GITLAB_FAKE_TLS_URL=$(url tls 1) && GITLAB_FAKE_TLS_STORAGE_URL=$(url tls 3) || exit 125
  export GITLAB_FAKE_TLS_URL GITLAB_FAKE_TLS_STORAGE_URL
fi
if [ $mtls -eq 1 ]; then
  GITLAB_FAKE_MTLS_URL=$(url mtls 1) || exit 125
  GITLAB_FAKE_CLIENT_CERT=$d/client.pem GITLAB_FAKE_CLIENT_KEY=$d/client.key
  GITLAB_FAKE_OTHER_CERT=$d/other.pem GITLAB_FAKE_OTHER_KEY=$d/other.key
  export GITLAB_FAKE_MTLS_URL GITLAB_FAKE_CLIENT_CERT GITLAB_FAKE_CLIENT_KEY GITLAB_FAKE_OTHER_CERT GITLAB_FAKE_OTHER_KEY
fi
if [ $proxy -eq 1 ]; then
  GITLAB_FAKE_PROXY_URL=$(url proxy 1) || exit 125
  GITLAB_FAKE_PROXY_CONTROL=$GITLAB_FAKE_PROXY_URL/__proxy
  export GITLAB_FAKE_PROXY_URL GITLAB_FAKE_PROXY_CONTROL
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
