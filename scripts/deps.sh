#!/bin/sh
# Install what the build, the tests and the demo need, only when missing.
# Debian packages from scripts/deps.apt; npm packages from package.json
# into ./node_modules (no lock file is written).
set -e
cd "$(dirname "$0")/.."

missing=""
for p in $(grep -v '^#' scripts/deps.apt); do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$s" = installed ] || missing="$missing $p"
done
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

if [ -n "$missing" ]; then
    echo "deps: installing:$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
        --no-install-recommends $missing >&2
fi

# npm packages: reinstall when package.json is newer than the install.
stamp=node_modules/.cs-deps
if [ ! -f "$stamp" ] || [ -n "$(find package.json -newer "$stamp")" ]; then
    echo "deps: installing npm packages" >&2
    npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2
    touch "$stamp"
fi
