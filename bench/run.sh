#!/bin/sh
# make bench: the benchmarks of bench/bench.lua against the fake GitLab, on
# each Lua given as VERSION:BINARY.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
python3 spec/fake_gitlab/server.py --url-file "$tmp/url" --parent-pid $$ >"$tmp/log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(sed -n 1p "$tmp/url")
for pair in "$@"; do
  v=${pair%%:*}
  bin=${pair#*:}
  echo "== Lua $v ($bin)"
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token GITLAB_FAKE_CONTROL=$url/__control \
  LUA_PATH="lua/?.lua;;" LUA_CPATH="build/$v/?.so;;" "$bin" bench/bench.lua || exit 1
done
if /usr/bin/python3 -c 'import gitlab' 2>/dev/null; then
  echo "== python-gitlab, same server"
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token /usr/bin/python3 bench/python_gitlab.py
fi
