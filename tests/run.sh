#!/usr/bin/env bash
# The test command for the whole repository: formatting, lints, tests, doctests
# (doctests include every Rust code block of the guide, via overseer-tests).
set -euo pipefail

cd "$(dirname "$0")/.."

fmt_args=(--check)
if [ "${CI:-}" = "true" ]; then
    export CARGO_TERM_COLOR=never
    fmt_args+=(--color never) # rustfmt colours its diff independently of cargo
fi

banner() {
    printf '\n==> %s\n' "$*"
}

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    banner "rustup component add rustfmt clippy"
    rustup component add rustfmt clippy
fi

banner "fmt"
cargo fmt --all -- "${fmt_args[@]}"

banner "clippy"
cargo clippy --workspace --all-targets -- -D warnings

banner "test (all targets)"
cargo test --workspace --all-targets

banner "test (doc)"
cargo test --workspace --doc

banner "all checks passed"
