#!/bin/sh
# Installs the Debian packages named as arguments that are missing:
# with apt-get when root, else prints the command to run and fails.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }; } >&2 || exit 1
else
  echo "missing packages:$missing" >&2
  echo "run: sudo apt-get install -y$missing" >&2
  exit 1
fi
