"""The coverage-guided fuzz campaign of the reader (issue 19): both atheris targets of
tests/fuzz/harness.py from the spec vectors, with the dictionary and limits, and its
figures (executions, coverage, corpus, findings) in bench/results/fuzz/campaign.json.

    python bench/fuzz_campaign.py                                  # the committed campaign
    python bench/fuzz_campaign.py --parser-runs 10000000 --decoder-runs 1000000 --max-seconds 36000

Needs ``pip install atheris`` (a manylinux wheel: no compiler needed). Findings (libFuzzer's
crash-*/timeout-*/oom-* files) are copied to bench/results/fuzz/findings/ and listed; each
must become a file in tests/fuzz/regressions/ once fixed.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "fuzz" / "harness.py"
DICTIONARY = ROOT / "tests" / "fuzz" / "gzc.dict"
OUT = ROOT / "bench" / "results" / "fuzz"
STAT = re.compile(r"stat::(\w+):\s+(\d+)")
FINAL = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/")


def campaign(target: str, runs: int, max_seconds: int, timeout: int, rss_mb: int) -> dict:
    sys.path.insert(0, str(HARNESS.parent))
    import harness
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        corpus, findings = work / "corpus", work / "findings"
        corpus.mkdir()
        findings.mkdir()
        for i, seed in enumerate(harness.seeds()):
            (corpus / f"seed-{i:03d}").write_bytes(seed)
        kept = harness.CORPUS / target              # what earlier campaigns found, as OSS-Fuzz keeps it
        for path in sorted(kept.glob("*")) if kept.is_dir() else ():
            shutil.copy(path, corpus / path.name)
        seeds = len(list(corpus.iterdir()))
        command = [sys.executable, str(HARNESS), target, str(corpus), f"-dict={DICTIONARY}", f"-runs={runs}",
                   f"-max_total_time={max_seconds}", f"-timeout={timeout}", f"-rss_limit_mb={rss_mb}",
                   f"-artifact_prefix={findings}/", "-print_final_stats=1"]
        start, cpu0 = time.time(), _children_cpu()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=work)
        wall, cpu = time.time() - start, _children_cpu() - cpu0
        log = proc.stderr + proc.stdout
        stats = {k: int(v) for k, v in STAT.findall(log)}
        final = FINAL.findall(log)
        found = sorted(p.name for p in findings.iterdir())
        if proc.returncode == 0:                    # the corpus it ends with seeds the next campaign
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(corpus, kept, ignore=shutil.ignore_patterns("seed-*"))
        if found:
            keep = OUT / "findings" / target
            keep.mkdir(parents=True, exist_ok=True)
            for name in found:
                shutil.copy(findings / name, keep / name)
        (OUT / f"{target}.log").write_text("\n".join(line for line in log.splitlines()
                                                     if not line.startswith('"'))[-20000:])
        return {"target": target, "exit_code": proc.returncode, "executions": stats.get("number_of_executed_units"),
                "exec_per_s": stats.get("average_exec_per_sec"), "coverage_edges": int(final[-1][1]) if final else None,
                "features": int(final[-1][2]) if final else None, "corpus_final": int(final[-1][3]) if final else None,
                "corpus_seeds": seeds, "new_units": stats.get("new_units_added"),
                "peak_rss_mb": stats.get("peak_rss_mb"), "slowest_unit_s": stats.get("slowest_unit_time_sec"),
                "findings": found, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                "limits": {"runs": runs, "max_total_time_s": max_seconds, "timeout_s": timeout, "rss_limit_mb": rss_mb,
                           "max_pixels": harness.MAX_PIXELS, "address_space_headroom": harness.MEMORY_HEADROOM}}


def _children_cpu() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parser-runs", type=int, default=1_000_000)
    parser.add_argument("--decoder-runs", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=int, default=900, help="per target")
    parser.add_argument("--timeout", type=int, default=10, help="seconds per input (a hang is a finding)")
    parser.add_argument("--rss-mb", type=int, default=4000)
    args = parser.parse_args()
    import atheris  # noqa: F401  (fail early, with pip's message, if it is missing)
    OUT.mkdir(parents=True, exist_ok=True)
    results = [campaign("parser", args.parser_runs, args.max_seconds, args.timeout, args.rss_mb),
               campaign("decoder", args.decoder_runs, args.max_seconds, args.timeout, args.rss_mb)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    summary = {"command": "python " + " ".join(sys.argv), "date": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit.strip(), "python": platform.python_version(),
               "atheris": _version("atheris"), "machine": f"{platform.machine()}, {_cores()} cores", "targets": results}
    (OUT / "campaign.json").write_text(json.dumps(summary, indent=2) + "\n")
    for r in results:
        print(f"{r['target']}: {r['executions']} executions ({r['exec_per_s']}/s), {r['coverage_edges']} edges, "
              f"corpus {r['corpus_seeds']} -> {r['corpus_final']}, findings {len(r['findings'])}, {r['cpu_s']} CPU s")


def _version(name: str) -> str:
    from importlib.metadata import version
    return version(name)


def _cores() -> int:
    import os
    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
