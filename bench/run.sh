#!/bin/sh
# make bench: the benchmarks of bench/bench.lua against the fake GitLab, on
# each Lua given as VERSION:BINARY, a download beside curl's, then the cases of
# bench/side_by_side.py (its table also goes to build/bench/RESULTS.md).
set -u
cd "$(dirname "$0")/.." || exit 1
# the fake comes from tools/with-fake.sh, which runs this script again inside it
[ "${1:-}" = "--with-fake" ] || exec sh tools/with-fake.sh sh bench/run.sh --with-fake "$@"
shift
url=$GITLAB_FAKE_URL
for pair in "$@"; do
  v=${pair%%:*}
  bin=${pair#*:}
  echo "== Lua $v ($bin)"
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token GITLAB_FAKE_CONTROL=$url/__control \
  LUA_PATH="lua/?.lua;;" LUA_CPATH="build/$v/?.so;;" "$bin" bench/bench.lua || exit 1
done
echo "== a 256 MiB archive, beside curl -o"
v=${1%%:*}
bin=${1#*:}
LUA_PATH="lua/?.lua;;" LUA_CPATH="build/$v/?.so;;" "$bin" bench/download.lua "$bin" || exit 1
if /usr/bin/python3 -c 'import gitlab' 2>/dev/null; then
  echo "== python-gitlab, same server"
  GITLAB_URL=$url GITLAB_TOKEN=glpat-valid-token /usr/bin/python3 bench/python_gitlab.py
fi
echo "== side by side: list, scale, latency, soak"
python3 bench/side_by_side.py "$@" || exit 1
