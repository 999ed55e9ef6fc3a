#!/usr/bin/env bash
# The embedded mini recipe: Spanish-English code-switched speech generated with espeak-ng.
# This version runs the data stages (corpus generation and data directories);
# the training and decoding stages of csst.sh build on these data directories.
set -euo pipefail
cd "$(dirname "$0")"
./local/data.sh "$@"
