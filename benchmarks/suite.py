"""lamina vs Keras 3 (JAX backend) vs a hand-written JAX loop, on the referee's workloads.

Every (library, workload) measurement is one run of the referee harness
(``../shared/bench/run.py`` when present, else the identical copy
``benchmarks/referee.py``) in its own process. Within a round the libraries of one
workload run back to back, in an order that alternates between rounds; ratios are
taken within a round and their median is reported (absolute times on a shared
machine drift by 2x between minutes, ratios much less).

    python benchmarks/suite.py                       # all workloads, 3 rounds
    python benchmarks/suite.py --workloads mlp predict --rounds 5
    python benchmarks/suite.py --cache warm          # lamina with a primed compile cache

Prints a table of medians and writes every raw result plus the summary as JSON
(``--out``, default ``benchmarks/results.json``).

``--cache cold`` (default) gives each lamina process an empty compilation-cache
folder, so compile time counts as on a first run; ``warm`` primes one folder with an
untimed run per workload first (a user's second run of a script). Keras 3 does not
use JAX's persistent cache by default and runs as it comes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["mlp", "headline", "siamese", "wide", "predict", "import"]
LIBS = ["lamina", "keras", "jaxlimit"]

# (field, label, better): "lower" fields give a ratio keras / lamina (> 1: lamina faster
# or leaner); "higher" fields give lamina / keras.
TRAIN_FIELDS = [("first_call_s", "first step s", "lower"),
                ("first_epoch_s", "first epoch s", "lower"),
                ("epoch_s", "steady epoch s", "lower"),
                ("peak_rss_mb", "peak RSS MB", "lower")]
PREDICT_FIELDS = [("first_call_s", "first predict s", "lower"),
                  ("epoch_s", "predict 60k s", "lower"),
                  ("latency_call_ms", "model(x) ms", "lower"),
                  ("latency_predict_ms", "predict(x) ms", "lower"),
                  ("latency_predict_on_batch_ms", "predict_on_batch(x) ms", "lower"),
                  ("peak_rss_mb", "peak RSS MB", "lower")]
FIELDS = {"predict": PREDICT_FIELDS, "import": [("import_s", "import s", "lower")],
          "wide": TRAIN_FIELDS + [("frac_of_peak", "fraction of matmul peak", "higher")]}


def find_referee(explicit: str | None) -> str:
    """The referee harness: ``explicit``, the shared one beside the repository, or the copy."""
    candidates = [explicit] if explicit else [
        os.path.join(HERE, "..", "..", "shared", "bench", "run.py"),
        "/work/shared/bench/run.py",
        os.path.join(HERE, "referee.py")]
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    raise FileNotFoundError(f"No referee harness found; looked at {candidates}.")


def run_one(referee: str, lib: str, workload: str, rep: int, cache_dir: str | None,
            extra: list[str]) -> dict:
    """One referee process; its JSON result (``ok`` False with the error when it failed)."""
    env = dict(os.environ, KERAS_BACKEND="jax")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    if cache_dir is not None:
        env["LAMINA_COMPILATION_CACHE_DIR"] = cache_dir
    cmd = [sys.executable, referee, "--lib", lib, "--backend", "jax", "--workload", workload,
           "--rep", str(rep)] + extra
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"lib": lib, "workload": workload, "rep": rep, "ok": False,
                "error": proc.stderr[-2000:]}
    return json.loads(lines[-1])


def ratio(lamina: float | None, keras: float | None, better: str) -> float | None:
    if not lamina or not keras:
        return None
    return keras / lamina if better == "lower" else lamina / keras


def summarize(results: list[dict], libs: list[str]) -> dict:
    """Per workload and field: each library's median and the median per-round ratio."""
    summary = {}
    for workload in dict.fromkeys(r["workload"] for r in results):
        rows = {}
        for field, label, better in FIELDS.get(workload, TRAIN_FIELDS):
            row = {"label": label, "better": better}
            by_round: dict[int, dict] = {}
            for r in results:
                if r["workload"] == workload and r.get("ok") and r.get(field) is not None:
                    by_round.setdefault(r["rep"], {})[r["lib"]] = r[field]
            for lib in libs:
                values = [v[lib] for v in by_round.values() if lib in v]
                row[lib] = statistics.median(values) if values else None
            for lib in libs:
                if lib == "keras":
                    continue
                ratios = [ratio(v.get(lib), v.get("keras"), better) for v in by_round.values()]
                ratios = [x for x in ratios if x is not None]
                row[f"{lib}_vs_keras"] = statistics.median(ratios) if ratios else None
            rows[field] = row
        summary[workload] = rows
    return summary


def format_table(summary: dict, libs: list[str]) -> str:
    others = [lib for lib in libs if lib != "keras"]
    head = ["workload", "measure"] + libs + [f"{lib}/keras" for lib in others]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]

    def num(v):
        return "" if v is None else (f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}")

    for workload, rows in summary.items():
        for row in rows.values():
            cells = [workload, row["label"]] + [num(row.get(lib)) for lib in libs]
            cells += ["" if row.get(f"{lib}_vs_keras") is None
                      else f"{row[f'{lib}_vs_keras']:.2f}x" for lib in others]
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def write_json(args, info: dict, results: list[dict]) -> dict:
    """Writes the raw results and their summary to ``args.out``; returns the summary."""
    summary = summarize(results, args.libs)
    with open(args.out, "w") as f:
        json.dump({"machine": info, "rounds": args.rounds, "cache": args.cache,
                   "summary": summary, "results": results}, f, indent=1)
    return summary


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count()}
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f
                               if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    p.add_argument("--libs", nargs="+", default=LIBS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cache", choices=["cold", "warm"], default="cold",
                   help="lamina's compilation cache: empty per process, or primed")
    p.add_argument("--referee", default=None, help="path of the referee run.py")
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("extra", nargs=argparse.REMAINDER,
                   help="after --: arguments passed to every referee run")
    args = p.parse_args(argv)
    if "keras" not in args.libs:
        p.error("--libs must include keras: ratios are to Keras.")
    extra = [a for a in args.extra if a != "--"]
    referee = find_referee(args.referee)
    copy = os.path.join(HERE, "referee.py")
    info = machine()
    info["referee"] = referee
    with open(referee, "rb") as a, open(copy, "rb") as b:
        info["referee_matches_copy"] = a.read() == b.read()
    if not info["referee_matches_copy"]:
        print(f"note: {referee} differs from benchmarks/referee.py; using the former.",
              file=sys.stderr)
    root = tempfile.mkdtemp(prefix="lamina-bench-")
    warm_dir = os.path.join(root, "warm")
    results = []
    try:
        if args.cache == "warm" and "lamina" in args.libs:
            for workload in args.workloads:
                run_one(referee, "lamina", workload, -1, warm_dir, extra)
        for rep in range(args.rounds):
            for workload in args.workloads:
                order = args.libs if rep % 2 == 0 else args.libs[::-1]
                for lib in order:
                    cache = None
                    if lib == "lamina":
                        cache = warm_dir if args.cache == "warm" else tempfile.mkdtemp(dir=root)
                    t0 = time.perf_counter()
                    res = run_one(referee, lib, workload, rep, cache, extra)
                    res["suite_wall_s"] = round(time.perf_counter() - t0, 2)
                    results.append(res)
                    status = "ok" if res.get("ok") else f"FAILED: {res.get('error', '')[-300:]}"
                    print(f"round {rep + 1}/{args.rounds} {workload:8s} {lib:8s} {status}",
                          file=sys.stderr)
                    write_json(args, info, results)  # partial results survive an interrupt
    finally:
        shutil.rmtree(root, ignore_errors=True)
    try:
        info["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    summary = write_json(args, info, results)
    table = format_table(summary, args.libs)
    print(f"rounds: {args.rounds}, lamina compile cache: {args.cache}, "
          f"machine: {info.get('cpu', '?')} x {info['cpu_count']}, "
          f"load {info.get('loadavg_start')} -> {info.get('loadavg_end')}")
    print(table)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
