#!/bin/sh
# Regenerates the ts-proto output from proto/ into $1 (default src/gen).
# Run from the package directory (npm/Nx scripts do).
set -eu
out="${1:-src/gen}"
rm -rf "$out"
mkdir -p "$out"
protoc \
  --plugin=../../node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=generic-definitions,esModuleInterop=true,env=node,useOptionals=messages,forceLong=bigint,importSuffix=.js \
  -I proto \
  konnectivity-client/proto/client/client.proto agent.proto
