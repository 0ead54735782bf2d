#!/usr/bin/env bash
# Screening benchmark: `jiuzhu monitor` (the `lto` build) on synthetic cities of 1, 3 and 10
# million persons — wall time, CPU time and peak memory per stage, median of several runs — side
# by side with the core of the same screening in DuckDB SQL over the same Parquet lake.
#
# The lake's rows without a usable ID are linked once (`jiuzhu link`, timed on its own, which
# also counts the rows without an ID and those whose ID is no person's) and the runs read those
# kept links and counts, as a bureau's runs do between deliveries; `monitor --relink` runs,
# which link and count afresh, are timed beside them. The DuckDB SQL links nothing: it leaves the
# rows without an ID out; it writes its results (tiers and amounts, tekun persons, anomalies)
# as CSV files, as the run writes its six.
#
#   bench/monitor/run.sh                 # 1M, 3M, 10M persons, 3 runs each
#   SIZES="1000000" RUNS=5 bench/monitor/run.sh
#   PROFILE=release bench/monitor/run.sh  # the plain release build
#
# Needs python3 with venv (DuckDB is installed into a virtual environment used only here).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${SIZES:-"1000000 3000000 10000000"}
RUNS=${RUNS:-3}
AS_OF=${AS_OF:-2026-06-30}
WORK=${WORK:-$HOME/.cache/jiuzhu-bench/monitor}
VENV=${VENV:-$HOME/.cache/jiuzhu-bench/venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p "$WORK"

# the deployment build: the release build optimised across crates (Cargo.toml, `profile.lto`)
PROFILE=${PROFILE:-lto}
cargo build --profile "$PROFILE" -p cli
BIN=$CARGO_TARGET_DIR/$PROFILE/jiuzhu

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet duckdb

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for n in $SIZES; do
    city=$WORK/city-$n
    data=$WORK/data-$n
    if [ ! -d "$data/lake/batches" ]; then
        rm -rf "$city" "$data"
        "$BIN" synth --persons "$n" --seed 1 --out "$city" --as-of "$AS_OF" >/dev/null
        "$BIN" import "$city" --data-dir "$data" >/dev/null
    fi
    echo "== $n persons =="
    : > "$WORK/jiuzhu-$n.txt"
    : > "$WORK/relink-$n.txt"
    : > "$WORK/duckdb-$n.txt"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
        "$BIN" link --data-dir "$data" --as-of "$AS_OF" > "$WORK/link-$n.log"
    read -r wall user sys rss < "$WORK/time.txt"
    printf 'jiuzhu link (once, kept for the runs): wall %7.2f s  cpu %7.2f s  peak %6d MiB\n' \
        "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
    for run in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
            "$BIN" monitor --data-dir "$data" --as-of "$AS_OF" --out "$WORK/out-$n" --timings \
            > "$WORK/monitor-$n-$run.log"
        read -r wall user sys rss < "$WORK/time.txt"
        echo "$wall $(echo "$user + $sys" | bc) $((rss / 1024))" >> "$WORK/jiuzhu-$n.txt"
        sed -n '/^stage/,$p' "$WORK/monitor-$n-$run.log" > "$WORK/stages-$n-$run.txt"

        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
            "$BIN" monitor --data-dir "$data" --as-of "$AS_OF" --out "$WORK/relinked-$n" \
            --timings --relink > "$WORK/relink-$n-$run.log"
        read -r wall user sys rss < "$WORK/time.txt"
        echo "$wall $(echo "$user + $sys" | bc) $((rss / 1024))" >> "$WORK/relink-$n.txt"
        sed -n '/^stage/,$p' "$WORK/relink-$n-$run.log" > "$WORK/relink-stages-$n-$run.txt"
        for f in households persons anomalies warnings recommendations linkage; do
            cmp -s "$WORK/out-$n/$f.csv" "$WORK/relinked-$n/$f.csv" \
                || { echo "kept links and --relink disagree on $f.csv" >&2; exit 1; }
        done

        mkdir -p "$WORK/duckdb-out-$n"
        sed "s#\${LAKE}#$data/lake#g; s#\${OUT}#$WORK/duckdb-out-$n#g" \
            bench/monitor/duckdb_screen.sql > "$WORK/screen.sql"
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
            "$VENV/bin/python" -c "
import duckdb, sys
con = duckdb.connect()
con.execute(\"SET threads TO $(nproc)\")
text = '\\n'.join(l for l in open('$WORK/screen.sql').read().splitlines() if not l.lstrip().startswith('--'))
for stmt in text.split(';'):
    if stmt.strip():
        result = con.execute(stmt)
        if stmt.strip().upper().startswith('SELECT'):
            print(result.fetchall())
" > "$WORK/duckdb-$n-$run.log"
        read -r wall user sys rss < "$WORK/time.txt"
        echo "$wall $(echo "$user + $sys" | bc) $((rss / 1024))" >> "$WORK/duckdb-$n.txt"
    done
    for tool in jiuzhu relink duckdb; do
        w=$(cut -d' ' -f1 "$WORK/$tool-$n.txt" | median)
        c=$(cut -d' ' -f2 "$WORK/$tool-$n.txt" | median)
        m=$(cut -d' ' -f3 "$WORK/$tool-$n.txt" | median)
        printf '%-7s %9s persons: wall %7.2f s  cpu %7.2f s  peak %6d MiB (median of %d)\n' \
            "$tool" "$n" "$w" "$c" "$m" "$RUNS"
    done
    echo "stages of the last jiuzhu run:"
    cat "$WORK/stages-$n-$RUNS.txt"
    echo "stages of the last jiuzhu --relink run:"
    cat "$WORK/relink-stages-$n-$RUNS.txt"
    echo "summary of the last jiuzhu run:"
    sed -n '1,/^feeds missing/p' "$WORK/monitor-$n-$RUNS.log"
    echo "DuckDB (tiers, tekun, anomalies):"
    cat "$WORK/duckdb-$n-$RUNS.log"
done
