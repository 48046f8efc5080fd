#!/usr/bin/env bash
# Runs athanor against one or more Kysely versions (default: both ends of the
# peer range, read from KYSELY_RANGE_VERSIONS in this file), each in a
# temporary copy of src/ and test/ whose node_modules links to the repository's
# except for kysely, which is that version: the type check of src/ and test/,
# then the engine, session and Kysely compatibility suites (test/engine,
# test/session, test/compat), one file at
# a time: two files side by side on a busy 2-core machine pushed PGlite's start
# (a WebAssembly PostgreSQL) past its connect timeout.
#
#   bash scripts/kysely-range.sh                 # the lowest and highest tested versions
#   bash scripts/kysely-range.sh 0.28.0 0.28.19  # these versions
#
# Honours PG_URL, MYSQL_URL and REQUIRE_SERVERS like the suite itself.
set -euo pipefail
# The ends of package.json's peerDependencies.kysely range that CI proves.
KYSELY_RANGE_VERSIONS=(0.28.3 0.28.19)
repo=$(cd "$(dirname "$0")/.." && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=("${KYSELY_RANGE_VERSIONS[@]}")
range=$(node -p "require('$repo/package.json').peerDependencies.kysely")

failed=0
for version in "${versions[@]}"; do
  started=$SECONDS
  echo "== kysely $version (peer range $range)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/athanor-kysely-$version.XXXXXX")
  cp -r "$repo/src" "$repo/test" "$repo/package.json" "$repo/tsconfig.json" "$repo/vitest.config.ts" "$repo/examples" "$work/"
  mkdir "$work/node_modules"
  for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
    [ "$(basename "$entry")" = kysely ] || ln -s "$entry" "$work/node_modules/"
  done
  (cd "$work" && npm pack "kysely@$version" --silent --prefer-offline >/dev/null 2>"$work/pack.log") || { cat "$work/pack.log"; exit 1; }
  mkdir "$work/node_modules/kysely"
  tar -xzf "$work"/kysely-*.tgz -C "$work/node_modules/kysely" --strip-components=1
  got=$(node -p "require('$work/node_modules/kysely/package.json').version")
  if (cd "$work" && node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit) &&
     (cd "$work" && node node_modules/vitest/vitest.mjs run test/engine test/session test/compat --maxWorkers=1); then
    echo "== kysely $got: passed [$((SECONDS - started))s]"
  else
    echo "== kysely $got: FAILED [$((SECONDS - started))s]"
    failed=1
  fi
  rm -rf "$work"
done
exit $failed
