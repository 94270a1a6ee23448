#!/usr/bin/env bash
# The test command for the whole repository: formatting, lints, tests, doctests
# (doctests include every Rust code block of the guide, via overseer-tests). The tests run
# against a throwaway PostgreSQL cluster (tests/pg.sh), started here and stopped on exit.
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

# The Postgres capture tests and bench need a server: a throwaway cluster for this run,
# stopped on exit (also when a step fails or the run is interrupted).
banner "postgres (throwaway cluster for the tests)"
pg_env=$(bash tests/pg.sh start)
eval "$pg_env"
trap 'bash tests/pg.sh stop "$PG_TMP_ROOT"' EXIT
echo "DATABASE_URL=$DATABASE_URL"

banner "test (all targets)"
cargo test --workspace --all-targets

banner "test (doc)"
cargo test --workspace --doc

banner "all checks passed"
