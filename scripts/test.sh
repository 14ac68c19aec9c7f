#!/usr/bin/env bash
# The test command: sets up the Python tools the interoperability tests use
# (moto's STS server, AWS CLI v1, boto3) in .venv, then runs every test.
# Shell tests use bash, zsh, fish and faketime where installed (.ci/run
# installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
if [ ! -x "$VENV/bin/aws" ] || [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "==> creating $VENV with moto[server], awscli (v1), boto3"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' awscli boto3
fi
export MFACLI_TEST_VENV="$PWD/$VENV"

echo "==> cargo test --workspace"
cargo test --workspace --locked "$@"
