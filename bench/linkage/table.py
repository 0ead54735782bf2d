"""Side-by-side table of jiuzhu and Splink results written by run.sh (medians over runs)."""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

results = Path(sys.argv[1])
runs = defaultdict(list)
for f in sorted(results.glob("*_run*.json")):
    tool, _, rest = f.stem.partition("_")
    variant = rest.rsplit("_run", 1)[0]
    runs[(variant, tool)].append(json.loads(f.read_text()))


def ours(rs):
    r = rs[-1]
    return {
        "pairwise": r["pairwise"], "decisions": r["decisions"], "kind": r["decision_kind"],
        "blocking": r["blocking_recall"], "pairs": r["candidate_pairs"],
        "wall": statistics.median(x["seconds"]["wall"] for x in rs),
        "rss": max(x["peak_rss_mib"] for x in rs), "n": len(rs),
    }


def peer(rs):
    r = rs[-1]
    d = r.get("one_to_one_single_best_links_at_0.5") or r.get("many_to_one_best_census_match_per_w2_at_0.5")
    return {
        "pairwise": r["headline_threshold_0.5"], "decisions": d,
        "kind": "1:1" if "one_to_one_single_best_links_at_0.5" in r else ("m:1" if d else "-"),
        "blocking": r["blocking_stats"]["blocking_recall"], "pairs": r["scored_pairs"],
        "wall": statistics.median(x["seconds"]["wall_total"] for x in rs),
        "rss": max(x["peak_rss_mib"] for x in rs), "n": len(rs),
    }


def f(x):
    return "-" if x is None else f"{x['f1']:.4f}"


print("| variant | tool | pairwise P / R / F1 @0.5 | decisions F1 | blocking recall | pairs | wall s (median) | runs | peak RSS MiB | wall ratio splink/jiuzhu |")
print("|---|---|---|---|---|---|---|---|---|---|")
for variant in sorted({v for v, _ in runs}):
    o = runs.get((variant, "jiuzhu"))
    p = runs.get((variant, "splink"))
    oo = ours(o) if o else None
    pp = peer(p) if p else None
    ratio = f"{pp['wall'] / oo['wall']:.1f}x" if oo and pp and oo["wall"] > 0 else "-"
    for name, r in (("jiuzhu", oo), ("splink", pp)):
        if r is None:
            continue
        pw = r["pairwise"]
        print(f"| {variant} | {name} | {pw['precision']:.4f} / {pw['recall']:.4f} / {pw['f1']:.4f} | "
              f"{f(r['decisions'])} ({r['kind']}) | {r['blocking']} | {r['pairs']} | {r['wall']:.2f} | {r['n']} | "
              f"{r['rss']:.0f} | {ratio if name == 'jiuzhu' else ''} |")
