#!/usr/bin/env bash
# Install the Debian packages a target needs, or say exactly how to.
# Usage: scripts/ensure-system.sh venv|test|run
set -euo pipefail

target=${1:?usage: ensure-system.sh venv|test|run}
python=${PYTHON:-python3}
missing=()

case "$target" in
  venv)
    # Debian splits venv/ensurepip out of python3.
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      missing+=("python${version}-venv")
    fi
    ;;
  test)
    # The embedded PostgreSQL runs as a dedicated user when started by root.
    if [ "$(id -u)" = 0 ] && ! command -v useradd >/dev/null 2>&1; then missing+=(passwd); fi
    # The local sandbox: bubblewrap, with prlimit/setpriv from util-linux.
    if ! command -v bwrap >/dev/null 2>&1; then missing+=(bubblewrap); fi
    if ! command -v prlimit >/dev/null 2>&1; then missing+=(util-linux); fi
    ;;
  run)
    if ! command -v bwrap >/dev/null 2>&1; then missing+=(bubblewrap); fi
    ;;
  *) echo "ensure-system.sh: unknown target $target" >&2; exit 2 ;;
esac

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
