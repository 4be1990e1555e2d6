#!/bin/sh
# The module inside real hosts: Neovim (LuaJIT, its own event loop). Prints
# one line per host and exits non-zero when a host's run did not succeed.
set -u
cd "$(dirname "$0")/../.." || exit 1
# the fake comes from tools/with-fake.sh, which runs this script again inside it
[ "${1:-}" = "--with-fake" ] || exec sh tools/with-fake.sh sh spec/hosts/run.sh --with-fake "$@"
shift
url=$GITLAB_FAKE_URL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# The first line a host's server answers at URL, once it listens (10 s at most).
answer() {
  i=0
  while [ $i -lt 50 ]; do
    sleep 0.2
    python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode().strip())' \
      "$1" 2>/dev/null && return 0
    i=$((i + 1))
  done
}

# The fake drips its answer to GET /jobs/1009 out over more than half a
# second, once: a host whose loop runs while the call waits counts many ticks.
slow_answer() {
  python3 -c 'import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/__control/faults", method="POST",
  data=b"{\"path\": \"/jobs/1009$\", \"kind\": \"drip\", \"chunk\": 256, \"delay\": 0.05}",
  headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()' "$url"
}

# passed LINE COUNT: the host's line has the expected answers, and its loop
# ran at least 5 times (COUNT=N) while the calls were under way.
passed() {
  case "$1" in "ok failed=4 name=unit-tests status=404 "*) ;; *) return 1 ;; esac
  n=$(printf '%s\n' "$1" | sed -n "s/.* $2=\([0-9][0-9]*\).*/\1/p")
  [ "${n:-0}" -ge 5 ]
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if command -v nvim >/dev/null; then
  slow_answer
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token GITLAB_HOST_OUT=$tmp/nvim.out \
  LUA_PATH="$PWD/lua/?.lua;;" LUA_CPATH="$PWD/build/jit/?.so;;" \
    timeout 60 nvim --headless -u NONE -i NONE +"luafile spec/hosts/nvim.lua" >/dev/null 2>&1
  line=$(cat "$tmp/nvim.out" 2>/dev/null)
  echo "neovim: ${line:-no answer}"
  passed "$line" ticks || failed=1
else
  echo "neovim: not installed"
  failed=1
fi
if command -v haproxy >/dev/null; then
  port=$(free_port)
  cat >"$tmp/haproxy.cfg" <<CFG
global
  lua-load $PWD/spec/hosts/haproxy.lua
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend gitlab
  bind 127.0.0.1:$port
  http-request use-service lua.gitlab
CFG
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token \
  LUA_PATH="$PWD/lua/?.lua;;" LUA_CPATH="$PWD/build/5.3/?.so;;" \
    haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
  slow_answer
  hap=$!
  line=$(answer "http://127.0.0.1:$port/")
  kill $hap 2>/dev/null
  echo "haproxy: ${line:-no answer}"
  passed "$line" polls || { failed=1; cat "$tmp/haproxy.log"; }
else
  echo "haproxy: not installed"
  failed=1
fi
if command -v nginx >/dev/null && [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
  port=$(free_port)
  mkdir -p "$tmp/nginx"
  cat >"$tmp/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
env GITLAB_URL;
env GITLAB_TOKEN;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/nginx;
  proxy_temp_path $tmp/nginx;
  fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx;
  scgi_temp_path $tmp/nginx;
  lua_package_path "$PWD/lua/?.lua;;";
  lua_package_cpath "$PWD/build/jit/?.so;;";
  server {
    listen 127.0.0.1:$port;
    location / { content_by_lua_file $PWD/spec/hosts/nginx.lua; }
  }
}
CFG
  slow_answer
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" >"$tmp/nginx.log" 2>&1 &
  ngx=$!
  line=$(answer "http://127.0.0.1:$port/")
  kill $ngx 2>/dev/null
  echo "nginx: ${line:-no answer}"
  passed "$line" ticks || { failed=1; cat "$tmp/nginx/error.log" "$tmp/nginx.log"; }
else
  echo "nginx with its Lua module: not installed"
  failed=1
fi
exit $failed
