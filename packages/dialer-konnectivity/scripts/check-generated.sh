#!/bin/sh
# Fails (exit 1) when src/gen differs from what proto/ generates today.
set -eu
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sh scripts/generate.sh "$tmp/gen"
if ! diff -r "$tmp/gen" src/gen; then
  echo "src/gen is stale: run 'npx nx run @spoke/dialer-konnectivity:generate' and commit the result." >&2
  exit 1
fi
echo "src/gen is up to date."
