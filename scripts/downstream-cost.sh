#!/usr/bin/env bash
# What each crate costs a downstream tool that depends on it alone, default features: the crates
# it compiles (`cargo tree -e normal`) and a clean `cargo build --release` of a one-line binary.
# object_store's S3 client (`default-features = false, features = ["aws"]`) is the peer, built
# first and last in the same run so that machine drift shows; quote the ratios, not the seconds.
#
#   scripts/downstream-cost.sh              # all six crates and the peer
#   scripts/downstream-cost.sh garage-client
#
# Each downstream crate resolves its own lock file, as a new tool would (the newest versions
# allowed: the workspace's Cargo.lock is not copied). The internal crates that depend on
# backup-policy name the `homelab` registry, so its (never contacted) address is configured;
# velero-client's downstream crate picks the Kubernetes version (k8s-openapi `latest`), as every
# binary using kube must.
# A first object_store build, untimed, warms the caches. Uses CARGO_BUILD_JOBS if set.
set -euo pipefail
shopt -s inherit_errexit   # a failed build inside $(…) fails the run, not a bogus row
cd "$(dirname "$0")/.."
root=$PWD
crates=("$@")
[ ${#crates[@]} -gt 0 ] || crates=(backup-policy infisical-client pbs-client restic-remote garage-client velero-client)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/.cargo"
cp "$root/.cargo/config.toml" "$scratch/.cargo/config.toml"

# measure NAME DEPENDENCY-LINE: prints "NAME crates seconds".
measure() {
    local name=$1 dep=$2 dir="$scratch/$1-$RANDOM"
    mkdir -p "$dir/src"
    printf '[package]\nname = "downstream"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n[dependencies]\n%s\n' "$dep" >"$dir/Cargo.toml"
    echo 'fn main() {}' >"$dir/src/main.rs"
    (
        cd "$dir"
        cargo fetch --quiet
        local crates started secs
        # The downstream crate itself is not a dependency.
        crates=$(($(cargo tree --quiet -e normal --prefix none | sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u | wc -l) - 1))
        started=$EPOCHREALTIME
        CARGO_TARGET_DIR="$dir/target" cargo build --quiet --release --offline
        secs=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
        printf '%s %s %.1f\n' "$name" "$crates" "$secs"
    )
    rm -rf "$dir"
}

peer='object_store = { version = "0.14", default-features = false, features = ["aws"] }'
measure object_store "$peer" >/dev/null
results=$(
    measure object_store "$peer"
    for c in "${crates[@]}"; do
        dep="$c = { path = \"$root/$c\" }"
        # k8s-openapi builds only with one Kubernetes version chosen, by the final binary.
        [ "$c" = velero-client ] && dep+=$'\nk8s-openapi = { version = "0.29", features = ["latest"] }'
        measure "$c" "$dep"
    done
    measure object_store "$peer"
)
echo "$results" >&2
echo
echo "| crate | crates compiled | clean release build | vs object_store |"
echo "|---|---|---|---|"
peer_secs=$(echo "$results" | awk '$1 == "object_store" { s += $3; n++ } END { printf "%.1f", s / n }')
echo "$results" | awk -v p="$peer_secs" '
    $1 == "object_store" { if (seen++) next; printf "| object_store (aws, peer; mean of first and last) | %s | %.1f s | 1.00 |\n", $2, p; next }
    { printf "| %s | %s | %.1f s | %.2f |\n", $1, $2, $3, $3 / p }'
