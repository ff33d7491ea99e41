#!/usr/bin/env bash
# Install everything the tests need into .venv and run the whole suite:
# ruff, mypy --strict, then pytest (unit, property-based, fuzz smoke, interop).
# The real peers install themselves on first use (../shared/peers); the Debian packages
# the docs and proxy tests need are installed here, when missing and we may (root, or sudo -n).
set -euo pipefail
cd "$(dirname "$0")/.."

# Graphviz's dot draws the state diagrams at docs build time; tests/test_docs_browser.py
# reads the built pages in headless Chromium (DejaVu: the code font it measures with).
debs=()
command -v dot >/dev/null 2>&1 || debs+=(graphviz)
[ -x /usr/bin/chromium ] || debs+=(chromium)
# tinyproxy: the HTTP CONNECT proxy of tests/proxy (started by the tests on loopback).
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || debs+=(tinyproxy)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "ok installed" \
    || debs+=(fonts-dejavu-core)
if ((${#debs[@]})); then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        sudo="no"
    fi
    if [ "$sudo" = no ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "== cannot install ${debs[*]} (needs apt-get as root or with sudo):" \
             "the docs browser tests will skip (fail with CI=true)" >&2
    else
        echo "== apt-get install ${debs[*]}"
        apt() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" </dev/null; }
        log=/tmp/amqp10-apt-$$.log
        # A fresh image has no package lists, an old one stale lists: update, try again.
        { apt install --no-install-recommends "${debs[@]}" \
              || { apt update && apt install --no-install-recommends "${debs[@]}"; }; } \
            >"$log" 2>&1 || { tail -20 "$log" >&2; echo "apt-get install failed" >&2; exit 1; }
        rm -f "$log"
    fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
