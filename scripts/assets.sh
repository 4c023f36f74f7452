#!/usr/bin/env bash
# Install the maps' JavaScript and CSS (Leaflet and its plugins) from package-lock.json with
# `npm ci`, then copy the files essmap serves or inlines into essmap/maps/vendor/ (ignored by git).
# Nothing third-party is kept in the repository: run this after a clone and after changing
# package.json (`npm install` updates the lock file).
# With --dev, the development packages of package.json are installed too (axe-core, which the
# browser tests run in Chromium from node_modules/); they are never copied into the maps.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/assets.sh: npm is missing (install Node.js and npm, e.g. apt-get install nodejs npm)" >&2
  exit 1
fi
omit=(--omit=dev)
if [ "${1:-}" = "--dev" ]; then omit=(); fi
npm ci --no-audit --no-fund --loglevel=error "${omit[@]}"
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
