#!/usr/bin/env bash
# Load benchmark of the web application: wrk with 50 connections on loopback against the task
# queue, a household profile and the dashboard, on SQLite and on PostgreSQL; the median of three
# runs of requests per second, p50 and p99 latency.
#
#   bench/web/run.sh                       # 1,000,000 persons, release build (slow to prepare)
#   PERSONS=5000 PROFILE=dev DURATION=3 bench/web/run.sh    # a quick check of the script
#
# Settings (environment): PERSONS, PROFILE (release|dev), DURATION (seconds per wrk run),
# BACKENDS ("sqlite postgres"), PG_SERVER (postgres://postgres@127.0.0.1:5432), WORK (a folder
# kept between runs; the city is prepared once per backend and size).
set -euo pipefail

PERSONS=${PERSONS:-1000000}
PROFILE=${PROFILE:-release}
DURATION=${DURATION:-20}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$ROOT/target/bench-web}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
cargo build --quiet --profile "$PROFILE" -p cli --manifest-path "$ROOT/Cargo.toml"
case $PROFILE in dev) BIN=$TARGET/debug/jiuzhu ;; *) BIN=$TARGET/$PROFILE/jiuzhu ;; esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Signs in through the form and prints the session cookie's value.
sign_in() { # port user password
  local jar; jar=$(mktemp)
  local csrf
  csrf=$(curl -s -c "$jar" "http://127.0.0.1:$1/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "username=$2" --data-urlencode "password=$3" --data-urlencode "csrf=$csrf" \
    "http://127.0.0.1:$1/login"
  awk '$6 == "jz_session" { print $7 }' "$jar"
  rm -f "$jar"
}

# One wrk run: prints "rps p50_ms p99_ms".
measure() { # url cookie
  wrk -t2 -c50 -d"${DURATION}s" --latency -H "Cookie: jz_session=$2" "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50.000%" || $1 == "50%" { p50 = ms($2) }
    $1 == "99.000%" || $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    / Non-2xx or 3xx responses:/ { bad = $NF }
    END { if (bad > 0) { print "wrk saw " bad " failed responses" > "/dev/stderr"; exit 1 }
          printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# jiuzhu web load: $PERSONS persons, $PROFILE build, wrk -c50 -d${DURATION}s, median of 3"
echo "| backend | page | requests/s | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|"
for backend in $BACKENDS; do
  dir=$WORK/$backend-$PERSONS
  mkdir -p "$dir"
  case $backend in
    sqlite) db="sqlite:$dir/jiuzhu.sqlite" ;;
    postgres)
      name="jiuzhu_bench_$PERSONS"
      db="$PG_SERVER/$name"
      if ! psql "$PG_SERVER/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        rm -f "$dir/users.txt"
        psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $name"
      fi ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  if [ ! -s "$dir/users.txt" ]; then
    "$BIN" demo --persons "$PERSONS" --no-serve --data-dir "$dir" --database "$db" > "$dir/demo.log"
    sed -n '/^5\/5/,$p' "$dir/demo.log" > "$dir/users.txt"
  fi
  password() { awk -v u="$1" '$1 == u { print $NF }' "$dir/users.txt"; }
  port=$(free_port)
  "$BIN" serve --database "$db" --key-file "$dir/demo.key" --listen "127.0.0.1:$port" \
    --insecure-cookies > "$dir/serve.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  caseworker=$(sign_in "$port" caseworker "$(password caseworker)")
  analyst=$(sign_in "$port" analyst "$(password analyst)")
  household=$(curl -s -H "Cookie: jz_session=$caseworker" "http://127.0.0.1:$port/tasks" \
    | sed -n 's/.*href="\/households\/\([^"]*\)".*/\1/p' | head -1)
  [ -n "$caseworker" ] && [ -n "$analyst" ] && [ -n "$household" ] || {
    echo "could not sign in or find a household on $backend" >&2; exit 1; }
  for page in queue profile dashboard; do
    case $page in
      queue) url="http://127.0.0.1:$port/tasks"; cookie=$caseworker ;;
      profile) url="http://127.0.0.1:$port/households/$household"; cookie=$caseworker ;;
      dashboard) url="http://127.0.0.1:$port/dashboard"; cookie=$analyst ;;
    esac
    runs=$(for _ in 1 2 3; do measure "$url" "$cookie"; done)
    rps=$(echo "$runs" | awk '{ print $1 }' | median)
    p50=$(echo "$runs" | awk '{ print $2 }' | median)
    p99=$(echo "$runs" | awk '{ print $3 }' | median)
    echo "| $backend | $page | $rps | $p50 | $p99 |"
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  trap - EXIT
done
