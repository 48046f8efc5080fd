#!/usr/bin/env bash
# Git-install smoke test (run by .ci/run): `npm install git+file://<this repo>#HEAD`
# into a fresh project, as `npm install git+https://…` would from a host. npm
# clones the repository, installs its dev dependencies there and runs `prepare`,
# which must build dist/ (scripts/prepare.mjs). Then the ESM and CommonJS
# consumers of scripts/smoke/ run a unit of work on pglite:// (PGlite installs
# without a build step; better-sqlite3 would compile once more).
# Tests the committed HEAD, not uncommitted changes. Exits non-zero on failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fixtures="$repo/scripts/smoke"
started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/athanor-git.XXXXXX")
[ -n "${SMOKE_KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
version_of() { node -p "require('$repo/node_modules/$1/package.json').version"; }

commit=$(git -C "$repo" rev-parse HEAD)
echo "-- npm install git+file://$repo#$commit"
cd "$work"
cat >package.json <<JSON
{
  "name": "athanor-git-smoke",
  "private": true,
  "type": "module",
  "dependencies": {
    "athanor": "git+file://$repo#$commit",
    "kysely": "$(version_of kysely)",
    "@electric-sql/pglite": "$(version_of @electric-sql/pglite)"
  }
}
JSON
npm install --prefer-offline --no-audit --no-fund >install.log 2>&1 || { cat install.log; exit 1; }
[ -f node_modules/athanor/dist/esm/index.js ] && [ -f node_modules/athanor/dist/cjs/index.js ] ||
  { cat install.log; echo "the git install has no dist/: prepare did not build it"; exit 1; }
cp "$fixtures"/scenario.cjs "$fixtures"/consumer.mjs "$fixtures"/consumer.cjs .
SMOKE_URL=pglite:// node consumer.mjs
SMOKE_URL=pglite:// node consumer.cjs
echo "-- git install smoke test passed [$((SECONDS - started))s]"
