#!/bin/sh
# make demo: starts the fake GitLab, runs examples/demo.lua against it, stops it.
set -u
cd "$(dirname "$0")/.." || exit 1
lua=${1:-lua5.4}
[ $# -gt 0 ] && shift
v=$($lua -e 'io.write((_VERSION:gsub("Lua ", "")))')
case "$lua" in *luajit*) v=jit ;; esac
tmp=$(mktemp -d)
python3 spec/fake_gitlab/server.py --url-file "$tmp/url" --parent-pid $$ >"$tmp/log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/url" ] || { cat "$tmp/log" >&2; echo "the fake GitLab did not start" >&2; exit 1; }
url=$(sed -n 1p "$tmp/url")
echo "fake GitLab at $url (token glpat-valid-token)"
echo
GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token \
LUA_PATH="lua/?.lua;;" LUA_CPATH="build/$v/?.so;;" "$lua" examples/demo.lua "$@"
