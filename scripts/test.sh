#!/usr/bin/env bash
# The workspace's one test command: installs what the tests need on a fresh Debian machine
# (idempotently), then runs fmt, clippy, every test (unit, integration, doc) and builds every target.
#
#   scripts/test.sh            # everything
#   SKIP_INSTALL=1 scripts/test.sh   # trust the machine, run the checks only
set -euo pipefail
cd "$(dirname "$0")/.."

GARAGE_VERSION=2.5.0
CACHE_DIR="${BACKUP_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backup-stack}"
GARAGE_ROOT="$CACHE_DIR/garage-$GARAGE_VERSION"
REGISTRY_VERSION=0.1.8
DENY_VERSION=0.20.2

step() { printf '\n==> %s\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
    local missing=()
    command -v restic >/dev/null || missing+=(restic)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v ssh-keygen >/dev/null || missing+=(openssh-client)
    command -v tmux >/dev/null || missing+=(tmux)   # progress bars are tested in a real terminal
    command -v promtool >/dev/null || missing+=(prometheus)   # promtool: backup-audit alert-rules tests
    # The real monitoring parts of the backup-audit serve e2e test.
    command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
    command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
    if [ ${#missing[@]} -gt 0 ]; then
        step "apt-get install ${missing[*]}"
        sudo_if_needed apt-get update -qq
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

install_garage() {
    local bin="$GARAGE_ROOT/bin/garage"
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qF "$GARAGE_VERSION"; then
        echo "garage $GARAGE_VERSION cached at $bin"
    else
        step "cargo install garage $GARAGE_VERSION into $GARAGE_ROOT (slow on 2 cores, cached afterwards)"
        local started=$SECONDS
        # LTO off and many codegen units: the binary only serves tests, and the build is ~2x faster.
        CARGO_PROFILE_RELEASE_LTO=false \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_DEBUG=0 \
            cargo install garage --version "$GARAGE_VERSION" --locked --root "$GARAGE_ROOT"
        echo "garage built in $((SECONDS - started)) s"
    fi
    export GARAGE_BIN="$bin"
}

# A real cargo registry server for the publish → `cargo add --registry` round trip.
install_cargo_registry() {
    local root="$CACHE_DIR/cargo-http-registry-$REGISTRY_VERSION"
    if [ ! -x "$root/bin/cargo-http-registry" ]; then
        step "cargo install cargo-http-registry $REGISTRY_VERSION into $root"
        cargo install cargo-http-registry --version "$REGISTRY_VERSION" --locked --root "$root"
    fi
    export REGISTRY_BIN="$root/bin/cargo-http-registry"
}

# cargo-deny checks the dependency graph against deny.toml (licences, banned crates, sources).
install_cargo_deny() {
    local root="$CACHE_DIR/cargo-deny-$DENY_VERSION"
    if [ ! -x "$root/bin/cargo-deny" ]; then
        step "cargo install cargo-deny $DENY_VERSION into $root"
        cargo install cargo-deny --version "$DENY_VERSION" --locked --root "$root"
    fi
    export PATH="$root/bin:$PATH"
}

# The servers' own clients (Infisical's SDK, the Kubernetes client, proxmoxer) drive the fakes from
# integration tests; they live in one venv, found by the tests through BACKUP_STACK_PYTHON.
install_python_clients() {
    local venv="$CACHE_DIR/venv-fidelity" stamp
    stamp="$venv/.requirements-$(sha256sum scripts/fidelity/requirements.txt | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        step "python venv with the servers' own clients ($venv)"
        python3 -m venv "$venv" || {
            sudo_if_needed apt-get update -qq
            sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
            python3 -m venv "$venv"
        }
        "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/fidelity/requirements.txt
        touch "$stamp"
    fi
    export BACKUP_STACK_PYTHON="$venv/bin/python"
}

if [ -z "${SKIP_INSTALL:-}" ]; then
    install_debian_packages
    install_garage
    install_cargo_registry
    install_cargo_deny
    install_python_clients
else
    if [ -z "${GARAGE_BIN:-}" ] && [ -x "$GARAGE_ROOT/bin/garage" ]; then
        export GARAGE_BIN="$GARAGE_ROOT/bin/garage"
    fi
    if [ -z "${BACKUP_STACK_PYTHON:-}" ] && [ -x "$CACHE_DIR/venv-fidelity/bin/python" ]; then
        export BACKUP_STACK_PYTHON="$CACHE_DIR/venv-fidelity/bin/python"
    fi
    if [ -x "$CACHE_DIR/cargo-deny-$DENY_VERSION/bin/cargo-deny" ]; then
        export PATH="$CACHE_DIR/cargo-deny-$DENY_VERSION/bin:$PATH"
    fi
    if [ -z "${REGISTRY_BIN:-}" ] && [ -x "$CACHE_DIR/cargo-http-registry-$REGISTRY_VERSION/bin/cargo-http-registry" ]; then
        export REGISTRY_BIN="$CACHE_DIR/cargo-http-registry-$REGISTRY_VERSION/bin/cargo-http-registry"
    fi
fi
echo "restic: $(restic version 2>/dev/null || echo missing)"
echo "garage: ${GARAGE_BIN:-not set} $("${GARAGE_BIN:-garage}" --version 2>/dev/null || echo missing)"

# One-shot runs gain nothing from incremental caches, which cost gigabytes of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
df -h . | tail -1 | awk '{print "disk free before the checks: " $4}'

started=$SECONDS
step "cargo fmt --check"
cargo fmt --all --check

step "cargo deny check bans licenses sources"
cargo deny --locked check --hide-inclusion-graph bans licenses sources

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, integration and doc tests, against real Garage, sshd and restic)"
cargo test --workspace --locked --no-fail-fast

step "build every binary, example and bench"
cargo build --workspace --all-targets --locked

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "publish to a loopback registry, then cargo add and run from a downstream crate"
scripts/registry-roundtrip.sh

echo "checks took $((SECONDS - started)) s"
echo "target dir: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1), disk free: $(df -h . | tail -1 | awk '{print $4}')"
