#!/usr/bin/env bash
# Format every C source and header in place (the lint test checks this).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^build/' | xargs clang-format -i
