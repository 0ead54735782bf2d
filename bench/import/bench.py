"""Import benchmark driver (see run.sh): generates the city with DuckDB, runs `jiuzhu import`
under /usr/bin/time -v and DuckDB's COPY to Parquet, and prints medians."""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import duckdb

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_macro() -> str:
    """A DuckDB macro giving the resident ID (with check character) of person i: province 99,
    area from i, a birth date from i, sequence i % 1000; unique for i < 10^7."""
    f17 = (
        "'9901' || lpad(((i // 1000) % 100)::VARCHAR, 2, '0') || "
        "strftime(DATE '1940-01-01' + ((i // 100000) * 300 + (i // 1000) % 100)::INTEGER, '%Y%m%d') || "
        "lpad((i % 1000)::VARCHAR, 3, '0')"
    )
    terms = " + ".join(
        f"(ascii(substr(f, {k + 1}, 1)) - 48) * {w}" for k, w in enumerate(WEIGHTS)
    )
    return (
        f"CREATE OR REPLACE MACRO f17(i) AS ({f17});\n"
        f"CREATE OR REPLACE MACRO chk(f) AS substr('10X98765432', (({terms}) % 11)::INTEGER + 1, 1);\n"
        "CREATE OR REPLACE MACRO rid(i) AS f17(i) || chk(f17(i));\n"
    )


def generate(work: Path, persons: int) -> dict:
    src = work / "src"
    stamp = src / f"done-{persons}"
    if stamp.exists():
        return {"population": persons, "medical": persons // 5}
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(id_macro())
    con.execute(
        f"""
        CREATE TABLE population AS SELECT
          rid(i) AS person_id,
          ['张','王','李','赵','刘','陈','杨','黄','周','吴'][i % 10 + 1]
            || ['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛'][(i // 10) % 15 + 1]
            || CASE WHEN i % 3 = 0 THEN '' ELSE ['明','华','平','英'][(i // 150) % 4 + 1] END AS name,
          CASE WHEN (i % 1000) % 2 = 1 THEN 'male' ELSE 'female' END AS gender,
          DATE '1940-01-01' + ((i // 100000) * 300 + (i // 1000) % 100)::INTEGER AS birth_date,
          'H' || lpad((i // 3)::VARCHAR, 9, '0') AS household_id,
          ['head','spouse','child'][i % 3 + 1] AS relation,
          '9901' || lpad(((i // 1000) % 100)::VARCHAR, 2, '0') || lpad(((i // 37) % 20)::VARCHAR, 3, '0') || '201' AS region_code,
          '示范市' || ((i // 1000) % 100)::VARCHAR || '区幸福路' || (i % 300)::VARCHAR || '号' AS address,
          CASE WHEN i % 97 = 0 THEN 'deceased' ELSE 'normal' END AS status,
          CASE WHEN i % 97 = 0 THEN DATE '2025-06-01' + (i % 300)::INTEGER END AS status_date,
          CASE WHEN i % 3 = 1 THEN rid(i - 1) END AS spouse_id,
          CAST(NULL AS VARCHAR) AS father_id,
          CAST(NULL AS VARCHAR) AS mother_id
        FROM range({persons}) t(i)
        """
    )
    con.execute(
        f"""
        CREATE TABLE medical AS SELECT
          rid((j * 5) % {persons}) AS person_id,
          DATE '2025-01-01' + (j % 500)::INTEGER AS settled_date,
          ((j * 7919) % 9000000 + 10000)::DECIMAL(18,0) / 100 AS total_cost,
          round(total_cost * 0.6, 2)::DECIMAL(18,2) AS fund_paid,
          (total_cost - fund_paid)::DECIMAL(18,2) AS out_of_pocket,
          ['outpatient','inpatient','chronic','major'][j % 4 + 1] AS kind,
          ['J18.9','I10','E11.9','C34.9'][j % 4 + 1] AS diagnosis
        FROM range({persons // 5}) t(j)
        """
    )
    for feed in ["population", "medical"]:
        d = src / f"{feed}-csv-utf8"
        d.mkdir()
        con.execute(f"COPY {feed} TO '{d}/{feed}.csv' (HEADER, DELIMITER ',')")
        g = src / f"{feed}-csv-gb18030"
        g.mkdir()
        (g / "batch.toml").write_text('encoding = "gb18030"\n')
        with open(d / f"{feed}.csv", "rb") as fin, open(g / f"{feed}.csv", "wb") as fout:
            subprocess.run(["iconv", "-f", "UTF-8", "-t", "GB18030"], stdin=fin, stdout=fout, check=True)
        p = src / f"{feed}-parquet"
        p.mkdir()
        con.execute(f"COPY {feed} TO '{p}/{feed}.parquet' (FORMAT PARQUET)")
    stamp.write_text("ok")
    return {"population": persons, "medical": persons // 5}


def time_jiuzhu(jiuzhu: str, batch: Path, data: Path):
    shutil.rmtree(data, ignore_errors=True)
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-v", jiuzhu, "import", str(batch), "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"jiuzhu import failed:\n{out.stdout}\n{out.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", out.stderr).group(1))
        for kind in ("User", "System")
    )
    return elapsed, rss, out.stdout, cpu


def time_duckdb(csv: Path, target: Path):
    target.unlink(missing_ok=True)
    con = duckdb.connect()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{target}' (FORMAT PARQUET)")
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    con.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jiuzhu", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--feeds", default="population,medical", help="comma-separated")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = generate(work, args.persons)
    print(f"city of {args.persons} persons ready in {work / 'src'} ({time.perf_counter() - t0:.1f} s)")
    print(f"cores: {os.cpu_count()}, runs: {args.runs} (median reported)")
    header = (
        f"{'feed':<11} {'format':<12} {'rows':>10} {'MB':>8} {'median s':>9} {'rows/s':>11} "
        f"{'MB/s':>7} {'peak MiB':>9} {'DuckDB s':>9} {'ratio':>6} {'cpu s':>7} {'DuckDB cpu':>10} {'cpu ratio':>9}"
    )
    print(header)
    formats = ["csv-utf8", "csv-gb18030", "parquet"]
    for feed in args.feeds.split(","):
        csv = work / "src" / f"{feed}-csv-utf8" / f"{feed}.csv"
        # Interleaved: each run times DuckDB, then every format of ours, so that a change in
        # the machine's load falls on both sides alike.
        duck_runs, ours = [], {fmt: [] for fmt in formats}
        for _ in range(args.runs):
            duck_runs.append(time_duckdb(csv, work / f"duckdb-{feed}.parquet"))
            for fmt in formats:
                ours[fmt].append(time_jiuzhu(args.jiuzhu, work / "src" / f"{feed}-{fmt}", work / "data"))
        duck = statistics.median(d[0] for d in duck_runs)
        duck_cpu = statistics.median(d[1] for d in duck_runs)
        for fmt in formats:
            batch = work / "src" / f"{feed}-{fmt}"
            size = sum(f.stat().st_size for f in batch.iterdir()) / 1e6
            runs = ours[fmt]
            secs = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs) / 1024
            cpu = statistics.median(r[3] for r in runs)
            n = rows[feed]
            print(
                f"{feed:<11} {fmt:<12} {n:>10} {size:>8.0f} {secs:>9.2f} {n / secs:>11,.0f} "
                f"{size / secs:>7.0f} {rss:>9.0f} {duck:>9.2f} {secs / duck:>6.2f} "
                f"{cpu:>7.2f} {duck_cpu:>10.2f} {cpu / duck_cpu:>9.2f}"
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load}")
    shutil.rmtree(work / "data", ignore_errors=True)


if __name__ == "__main__":
    main()
