#!/usr/bin/env bash
# README command 1: installs what is missing, builds everything, runs the main job.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-packages.sh
scripts/build-all.sh
scripts/demo.sh
