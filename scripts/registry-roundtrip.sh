#!/usr/bin/env bash
# The way the homelab's other tools get these crates: publish the six library crates to a real
# cargo registry server on loopback (cargo-http-registry, from crates.io), then build and run a
# fresh crate outside the workspace that took four of them with `cargo add --registry homelab`
# and makes one real call of each against the test bed. Also prints what each crate costs a
# downstream user in dependencies (`cargo tree -e normal`, default features, one crate alone).
#
#   REGISTRY_BIN=…/cargo-http-registry GARAGE_BIN=…/garage scripts/registry-roundtrip.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
: "${REGISTRY_BIN:?set REGISTRY_BIN to the cargo-http-registry binary}"

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The server picks a free loopback port and writes it into the index's config.json (`api`).
"$REGISTRY_BIN" "$work/registry" &
server_pid=$!
for _ in $(seq 200); do
    grep -qs '"api"' "$work/registry/config.json" && break
    sleep 0.1
done
grep -qs '"api"' "$work/registry/config.json" || { echo "registry did not start" >&2; exit 1; }
echo "registry: $(grep -o '"api"[^,}]*' "$work/registry/config.json")"

export CARGO_REGISTRIES_HOMELAB_INDEX="file://$work/registry"
export CARGO_REGISTRIES_HOMELAB_TOKEN=homelab   # cargo insists on a token; the server ignores it
# Downstream builds share the workspace's target dir: dependencies already built are reused.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

libraries=(backup-policy garage-client pbs-client velero-client restic-remote infisical-client)
publish_args=()
for c in "${libraries[@]}"; do publish_args+=(-p "$c"); done
# --no-verify: the downstream build below is the verification, against the published sources.
cargo publish --registry homelab "${publish_args[@]}" --no-verify --allow-dirty

downstream="$work/downstream"
cargo new --quiet --bin --name downstream "$downstream"
(
    cd "$downstream"
    cargo add --quiet --registry homelab garage-client --features testing
    cargo add --quiet --registry homelab infisical-client --features testing
    cargo add --quiet --registry homelab restic-remote backup-policy
    cargo add --quiet tokio --features macros,rt-multi-thread
    cargo add --quiet secrecy
    cp "$repo/scripts/downstream/main.rs" src/main.rs
    # Same versions as the workspace where they overlap, so the build reuses its artifacts.
    cp "$repo/Cargo.lock" Cargo.lock
    grep -A3 '^\[dependencies\]' Cargo.toml >/dev/null
    cargo run --quiet
)

echo
echo "| crate | crates a downstream build compiles (cargo tree -e normal, default features) |"
echo "|---|---|"
for c in "${libraries[@]}"; do
    alone="$work/alone-$c"
    cargo new --quiet --lib --name "alone_${c//-/_}" "$alone"
    (
        cd "$alone"
        cargo add --quiet --registry homelab "$c"
        n=$(cargo tree --quiet -e normal --prefix none | sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u | wc -l)
        # minus the downstream crate itself
        echo "| $c | $((n - 1)) |"
    )
done
