#!/usr/bin/env bash
# Import benchmark: a synthetic city of N persons (default 10 million) imported by
# `jiuzhu import` from CSV UTF-8, CSV GB18030 and Parquet, with DuckDB's CSV → Parquet COPY
# (no validation) of the same files timed side by side in the same run.
#
#   bench/import/run.sh                  # N=10000000 RUNS=3
#   N=1000000 RUNS=5 bench/import/run.sh
#
# Prints per feed and format: median seconds, rows/s, MB/s, peak RSS, and the ratio to DuckDB.
# DuckDB comes from a virtual environment used only by this benchmark.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${JIUZHU_BENCH_CACHE:-$HOME/.cache/jiuzhu-bench}
VENV=$CACHE/venv
if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet duckdb
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --quiet -p cli --manifest-path "$ROOT/Cargo.toml"
exec "$VENV/bin/python" "$ROOT/bench/import/bench.py" \
    --jiuzhu "$CARGO_TARGET_DIR/release/jiuzhu" \
    --work "${WORK:-$CACHE/import}" \
    --persons "${N:-10000000}" \
    --runs "${RUNS:-3}"
