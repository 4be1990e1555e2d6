#!/bin/sh
# make demo: starts the fake GitLab, runs examples/demo.lua against it, stops it.
set -u
cd "$(dirname "$0")/.." || exit 1
# the fake comes from tools/with-fake.sh, which runs this script again inside it
[ "${1:-}" = "--with-fake" ] || exec sh tools/with-fake.sh sh examples/run-demo.sh --with-fake "$@"
shift
lua=${1:-lua5.4}
[ $# -gt 0 ] && shift
v=$($lua -e 'io.write((_VERSION:gsub("Lua ", "")))')
case "$lua" in *luajit*) v=jit ;; esac
url=$GITLAB_FAKE_URL
echo "fake GitLab at $url (token glpat-valid-token)"
echo
GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token \
LUA_PATH="lua/?.lua;;" LUA_CPATH="build/$v/?.so;;" "$lua" examples/demo.lua "$@"
