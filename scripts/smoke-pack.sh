#!/usr/bin/env bash
# Tarball smoke test (run by .ci/run; `npm run smoke` by hand).
#
# Packs athanor as npm would publish it (prepack builds dist/ from nothing),
# installs the tarball into a fresh project beside its own kysely (the peer),
# better-sqlite3 and @types/node, and checks:
#   - the package's contents (scripts/smoke/check-package.mjs);
#   - one copy of kysely in the consumer's tree;
#   - an ESM consumer (.mjs, import) and a CommonJS consumer (.cjs, require),
#     each running a unit of work on sqlite:// (scripts/smoke/scenario.cjs);
#   - TypeScript consumers (scripts/smoke/consumer.ts), strict, compiled
#     under moduleResolution node16 and nodenext (as .cts and .mts) and bundler, then run
#     (skipLibCheck off under nodenext: every shipped .d.ts must compile in a strict project);
#   - stack traces under --enable-source-maps name shipped files only;
#   - `npm publish --dry-run` prints no warning (but that nobody is logged in).
# better-sqlite3 compiles from source on this machine (about a minute), so the
# consumer installs it without scripts and gets the repository's built binary
# (same version). Exits non-zero on the first failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fixtures="$repo/scripts/smoke"
started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/athanor-smoke.XXXXXX")
[ -n "${SMOKE_KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
step() { printf -- '-- %s [%ss]\n' "$*" $((SECONDS - started)); }
version_of() { node -p "require('$repo/node_modules/$1/package.json').version"; }

cd "$repo"
step "npm pack (dist/ removed first: prepack must build it)"
rm -rf dist
npm pack --pack-destination "$work" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; exit 1; }
tarball=$(ls "$work"/athanor-*.tgz)
printf '   %s, %s bytes\n' "$(basename "$tarball")" "$(wc -c <"$tarball")"

step "npm publish --dry-run (no warning about the package)"
npm publish --dry-run --ignore-scripts >"$work/publish.log" 2>&1 || { cat "$work/publish.log"; exit 1; }
# Not being logged in is this machine's state, not the package's: that one warning is allowed.
if grep -i 'warn' "$work/publish.log" | grep -v 'requires you to be logged in'; then echo "npm publish --dry-run warned (above)"; exit 1; fi

step "install the tarball into a fresh project"
app="$work/app"
mkdir "$app"
sqlite_binary="$repo/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
[ -f "$sqlite_binary" ] || { echo "no built better-sqlite3 in $repo/node_modules: run npm install first"; exit 1; }
cat >"$app/package.json" <<JSON
{
  "name": "athanor-smoke-app",
  "private": true,
  "type": "module",
  "dependencies": {
    "athanor": "file:$tarball",
    "kysely": "${SMOKE_KYSELY_VERSION:-$(version_of kysely)}",
    "better-sqlite3": "$(version_of better-sqlite3)",
    "@types/node": "$(version_of @types/node)"
  }
}
JSON
cd "$app"
npm install --ignore-scripts --prefer-offline --no-audit --no-fund >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
if grep -i 'peer' "$work/install.log"; then echo "the install warned about peers (above)"; exit 1; fi
mkdir -p node_modules/better-sqlite3/build/Release
cp "$sqlite_binary" node_modules/better-sqlite3/build/Release/

step "package contents and one kysely"
node "$fixtures/check-package.mjs" node_modules/athanor
npm ls --all >/dev/null || { npm ls --all; exit 1; }
copies=$(npm ls kysely --all --parseable | sort -u | wc -l)
[ "$copies" = 1 ] || { npm ls kysely --all; echo "kysely is installed $copies times: it must be one copy"; exit 1; }
echo "   npm ls kysely: one copy ($(node -p "require('./node_modules/kysely/package.json').version"))"

step "JavaScript consumers"
cp "$fixtures"/scenario.cjs "$fixtures"/consumer.mjs "$fixtures"/consumer.cjs "$fixtures"/stack.cjs .
node consumer.mjs
node consumer.cjs
node --enable-source-maps stack.cjs

step "TypeScript consumers (node16, nodenext, bundler)"
cp "$fixtures"/tsconfig.*.json "$fixtures"/consumer.ts .
cp consumer.ts consumer.cts
cp consumer.ts consumer.mts
tsc="$repo/node_modules/typescript/bin/tsc"
for resolution in node16 nodenext bundler; do
  node "$tsc" -p "tsconfig.$resolution.json"
done
node out/node16/consumer.cjs 'ts node16, CommonJS (.cts)'
node out/node16/consumer.mjs 'ts node16, ESM (.mts)'
node out/nodenext/consumer.cjs 'ts nodenext, CommonJS (.cts)'
node out/nodenext/consumer.mjs 'ts nodenext, ESM (.mts)'
node out/bundler/consumer.js 'ts bundler, ESM'

step "the athanor command"
npx --no-install athanor --help | head -1
npx --no-install athanor migrate current --url sqlite:// >/dev/null 2>&1 || { npx --no-install athanor migrate current --url sqlite://; echo "athanor migrate current failed"; exit 1; }

step "smoke test passed"
