#!/usr/bin/env bash
# Record linkage side by side: jiuzhu (`jiuzhu link eval`) and Splink on the same data, in the
# same run, on the same machine. Prints one table (accuracy at p >= 0.5, wall-time medians,
# ratios). Peer harness and data: ../../../shared/data/linkage (read-only); its venv is made
# by setup_venvs.sh there. Results (JSON) go to $RESULTS_DIR.
#
#   bench/linkage/run.sh                 FEBRL4/3 with and without ID, households 10k, pseudopeople
#   SCALE=1 bench/linkage/run.sh         also 1M-record link and dedupe (heavy; minutes, GiBs)
#   REPEAT=3 (default)                   runs per tool and variant; the table shows medians
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/data/linkage}
DATA=$HARNESS/data
PY=${VENV:-$HOME/.cache/jiuzhu-linkage-peers/venv}/bin/python
S=${SYNTH_DIR:-$HOME/.cache/jiuzhu-linkage-peers/synth}
export RESULTS_DIR=${RESULTS_DIR:-$HOME/.cache/jiuzhu-linkage-peers/results-side-by-side}
REPEAT=${REPEAT:-3}
JIUZHU=${JIUZHU:-}
if [ -z "$JIUZHU" ]; then
  (cd "$ROOT" && cargo build --release -q -p cli)
  JIUZHU=${CARGO_TARGET_DIR:-$ROOT/target}/release/jiuzhu
fi
[ -x "$PY" ] || { echo "Splink venv missing: run $HARNESS/setup_venvs.sh" >&2; exit 1; }
mkdir -p "$RESULTS_DIR" "$S"

ours() { # name, args...
  local name=$1; shift
  for r in $(seq 1 "$REPEAT"); do
    "$JIUZHU" link eval --name "$name" --json "$RESULTS_DIR/jiuzhu_${name}_run$r.json" "$@" | sed -n '1,4p'
  done
}
peer() { # name, script, args...
  local name=$1 script=$2; shift 2
  for r in $(seq 1 "$REPEAT"); do
    (cd "$HARNESS" && "$PY" "$script" "$@" --name "splink_${name}_run$r") | sed -n '1,3p'
  done
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for X in "" nossn; do
  SP=$([ -z "$X" ] && echo "" || echo "--no-ssn"); OU=$([ -z "$X" ] && echo "" || echo "--no-id")
  N=$([ -z "$X" ] && echo "" || echo "_nossn")
  ours "febrl4$N" --left "$DATA/febrl4a.csv" --right "$DATA/febrl4b.csv" --truth "$DATA/febrl4_true_links.csv" $OU
  peer "febrl4$N" splink_run.py --dataset febrl4 --blocking wide --one-to-one $SP
  ours "febrl3$N" --dedupe --input "$DATA/febrl3.csv" --truth "$DATA/febrl3_true_pairs.csv" $OU
  peer "febrl3$N" splink_run.py --dataset febrl3 --blocking wide --cluster $SP
done

# households (hard negatives: shared address and surname, twins), 10k records
[ -f "$S/synthhh_5k_a.csv" ] || (cd "$HARNESS" && "$PY" gen_synthetic.py --entities 5000 --seed 1 --households --out "$S/synthhh_5k")
stack() { # prefix -> prefix_ab.csv (A and B in one file, for dedupe)
  [ -f "$1_ab.csv" ] || { cat "$1_a.csv"; tail -n +2 "$1_b.csv"; } > "$1_ab.csv"
}
stack "$S/synthhh_5k"
for X in "" nossn; do
  SP=$([ -z "$X" ] && echo "" || echo "--no-ssn"); OU=$([ -z "$X" ] && echo "" || echo "--no-id")
  N=$([ -z "$X" ] && echo "" || echo "_nossn")
  ours "households10k_link$N" --left "$S/synthhh_5k_a.csv" --right "$S/synthhh_5k_b.csv" $OU
  peer "households10k_link$N" splink_run.py --dataset synth --synth-prefix "$S/synthhh_5k" --blocking scalable --model address_combined --one-to-one $SP
  ours "households10k_dedupe$N" --dedupe --input "$S/synthhh_5k_ab.csv" $OU
  peer "households10k_dedupe$N" splink_run.py --dataset synth --synth-prefix "$S/synthhh_5k" --synth-dedupe --blocking scalable --model address_combined $SP
done

# pseudopeople census <-> W2 (no ID, no birth date in W2); each W2 form belongs to at most one person
PP=$DATA/pseudopeople
ours pseudopeople --left "$PP/w2_1099_2020.csv" --right "$PP/census_2020.csv" --assignment many-to-one --map id_number=
peer pseudopeople splink_pp.py --em household_aware

if [ "${SCALE:-0}" = "1" ]; then
  [ -f "$S/synth_500k_a.csv" ] || (cd "$HARNESS" && "$PY" gen_synthetic.py --entities 500000 --seed 1 --out "$S/synth_500k")
  stack "$S/synth_500k"
  # one run each; wall time and peak RSS of both processes from /usr/bin/time -v
  timed() { # label, command...
    local label=$1; shift
    /usr/bin/time -v -o "$RESULTS_DIR/time_$label.txt" "$@" | sed -n '1,4p'
    echo "$label: $(grep -E 'Elapsed|Maximum resident' "$RESULTS_DIR/time_$label.txt" | sed 's/^[[:space:]]*//' | tr '\n' ';')"
  }
  echo "load average before the 1M runs: $(cut -d' ' -f1-3 /proc/loadavg)"
  timed jiuzhu_scale1m_link "$JIUZHU" link eval --name scale1m_link --json "$RESULTS_DIR/jiuzhu_scale1m_link_run1.json" --left "$S/synth_500k_a.csv" --right "$S/synth_500k_b.csv"
  timed splink_scale1m_link sh -c "cd '$HARNESS' && '$PY' splink_run.py --dataset synth --synth-prefix '$S/synth_500k' --blocking scalable --cluster --name splink_scale1m_link_run1"
  timed jiuzhu_scale1m_dedupe "$JIUZHU" link eval --name scale1m_dedupe --json "$RESULTS_DIR/jiuzhu_scale1m_dedupe_run1.json" --dedupe --input "$S/synth_500k_ab.csv"
  timed splink_scale1m_dedupe sh -c "cd '$HARNESS' && '$PY' splink_run.py --dataset synth --synth-prefix '$S/synth_500k' --synth-dedupe --blocking scalable --cluster --name splink_scale1m_dedupe_run1"
  echo "load average after the 1M runs: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$HERE/table.py" "$RESULTS_DIR"
