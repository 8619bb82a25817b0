#!/usr/bin/env bash
# README command 2: installs what is missing, builds everything (plus the sanitizer
# build), and runs every test family in one CTest run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-packages.sh
scripts/build-all.sh --asan
scripts/run-tests.sh "$@"
