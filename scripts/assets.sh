#!/usr/bin/env bash
# Install the maps' JavaScript and CSS (Leaflet and its plugins) from package-lock.json with
# `npm ci`, then copy the files essmap serves or inlines into essmap/maps/vendor/ (ignored by git).
# Nothing third-party is kept in the repository: run this after a clone and after changing
# package.json (`npm install` updates the lock file).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/assets.sh: npm is missing (install Node.js and npm, e.g. apt-get install nodejs npm)" >&2
  exit 1
fi
# --dev (scripts/test.sh) also installs the development packages the tests use (axe-core, run in
# Chromium by the accessibility tests); they stay in node_modules/ and are never served
if [ "${1:-}" = "--dev" ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm ci --no-audit --no-fund --loglevel=error --omit=dev
fi
vendor="$top/essmap/maps/vendor"
# Every package listed in package.json's dependencies: its dist/ folder (without source maps and
# ES modules) and its licence, under vendor/<package>/.
packages=$(node -e 'console.log(Object.keys(require("./package.json").dependencies).join("\n"))')
for pkg in $packages; do
  rm -rf "${vendor:?}/$pkg"
  mkdir -p "$vendor/$pkg"
  (cd "node_modules/$pkg/dist" && find . -type f ! -name '*.map' ! -name '*.esm.js' ! -name '*.d.ts' \
    -exec cp --parents {} "$vendor/$pkg/" \;)
  for licence in LICENSE LICENSE.md LICENSE.txt license; do
    if [ -f "node_modules/$pkg/$licence" ]; then cp "node_modules/$pkg/$licence" "$vendor/$pkg/LICENSE"; fi
  done
  node -e 'const p=require(process.argv[1]);console.log(p.name+"@"+p.version)' \
    "$top/node_modules/$pkg/package.json" > "$vendor/$pkg/VERSION"
done
