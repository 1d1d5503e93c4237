#!/bin/sh
# Debian packages the project needs. Installs them when run as root,
# otherwise prints the one command to run. Exits non-zero only when a
# package is missing and cannot be installed.
set -u
PACKAGES="mosquitto fonts-wqy-microhei chromium poppler-utils python3-venv espeak-ng"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
# Node.js and npm run MicroPython's 32-bit WebAssembly port (bench/heap32.py):
# any installed node and npm do; Debian's packages otherwise.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
# python3-venv is only needed when the interpreter cannot make a venv by itself.
if python3 -c "import ensurepip, venv" 2>/dev/null; then
    missing=$(echo "$missing" | sed 's/ python3-venv//')
fi
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: not a Debian/Ubuntu machine; install these yourself:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing Debian packages:$missing" >&2
    echo "system-deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "system-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
