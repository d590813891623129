"""`make bench-ab`: the message path's benchmark (bench/run.py) on two commits, alternated, in one
sitting — how a change's cost is told from this machine's noise.

Each commit is checked out in a git worktree of its own with its own virtualenv (the project's
editable install would otherwise import one commit's code for both), and the rounds alternate
in the order A B, B A, A B, … so that a drift of the machine over the sitting (another tenant,
a warming cache) falls on both sides alike. Both sides are measured with this checkout's
instrument (bench/run.py, bench/reflex_client.py and tests/support.py, which starts the server,
are copied over the worktrees' own), and the packages the two virtualenvs differ in are
printed first, so that what differs is the app. Every run records the CPU steal the machine saw meanwhile (from /proc/stat): a
virtual machine whose neighbours take its CPU measures latency that is not the code's.

    python -m bench.ab 8c651c4 HEAD --rounds 8 --levels 100,500 --configs sqlite --warmup 10

prints each run as it ends, then per configuration and level the p95 of every round, their
mean and median, and the CPU per message, after against before.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\|\s*(?P<config>[^|]+?)\s*\|\s*(?P<level>\d+)\s*\|\s*(?P<p50>[\d.]+)\s*\|\s*(?P<p95>[\d.]+)\s*\|"
                 r"\s*(?P<p99>[\d.]+)\s*\|\s*(?P<msgs>\d+)\s*\|\s*(?P<lost>\d+)\s*\|\s*(?P<kb>-?[\d.]+)\s*\|"
                 r"\s*(?P<cpu>[\d.]+)\s*\|\s*(?P<stall>[\d.]+)\s*\|$")


@dataclass
class Run:
    side: str
    round: int
    steal_pct: float
    rows: dict[tuple[str, int], dict[str, float]]


def cpu_ticks() -> tuple[int, int]:
    """(all ticks, steal ticks) of the machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[7]


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def checkout(commit: str, workdir: Path) -> Path:
    """A worktree of `commit` with its own virtualenv (made once, kept for the next sitting)."""
    sha = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    tree = workdir / sha[:12]
    if not tree.exists():
        git("worktree", "add", "--detach", str(tree), sha)
    tools = tree / ".tools"
    if not tools.exists() and (ROOT / ".tools").exists():
        tools.symlink_to(ROOT / ".tools")
    if not (tree / ".venv" / ".bench-installed").exists():
        print(f"installing {commit}'s packages into {tree / '.venv'}", flush=True)
        made = subprocess.run(["make", ".venv/.bench-installed"], cwd=tree, capture_output=True, text=True)
        if made.returncode != 0:
            raise RuntimeError(f"installing {commit} failed:\n{made.stdout[-3000:]}\n{made.stderr[-3000:]}")
    return tree


INSTRUMENT = ("bench/run.py", "bench/reflex_client.py", "tests/support.py")


def run_once(tree: Path, args) -> tuple[float, dict[tuple[str, int], dict[str, float]], str]:
    for name in INSTRUMENT:
        (tree / name).write_bytes((ROOT / name).read_bytes())
    total0, steal0 = cpu_ticks()
    env = {
        **os.environ,
        "PATH": f"{tree / '.tools/node_modules/.bin'}:{tree / '.venv/bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    out = subprocess.run(
        [str(tree / ".venv/bin/python"), "-m", "bench.run", "--levels", args.levels, "--configs", args.configs,
         "--duration", str(args.duration), "--warmup", str(args.warmup), "--no-assignment"],
        cwd=tree, env=env, capture_output=True, text=True,
    )
    total1, steal1 = cpu_ticks()
    if out.returncode != 0:
        raise RuntimeError(f"bench.run failed in {tree}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    rows = {}
    for line in out.stdout.splitlines():
        m = ROW.match(line.strip())
        if m and m["config"] != "configuration":
            rows[(m["config"], int(m["level"]))] = {k: float(m[k]) for k in ("p50", "p95", "p99", "cpu", "lost", "stall")}
    expected = len(args.levels.split(",")) * len(args.configs.split(","))
    if len(rows) != expected:  # a row that did not parse (a nan) must not leave one side with fewer rounds
        raise RuntimeError(f"bench.run in {tree} printed {len(rows)} of {expected} rows:\n{out.stdout[-3000:]}")
    return 100 * (steal1 - steal0) / max(1, total1 - total0), rows, out.stdout


def packages(tree: Path) -> dict[str, str]:
    out = subprocess.run([str(tree / ".venv/bin/python"), "-m", "pip", "freeze", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("==", 1) for line in out.splitlines() if "==" in line)


def summary(runs: list[Run], labels: dict[str, str]) -> str:
    keys = sorted({k for r in runs for k in r.rows}, key=lambda k: (k[0], k[1]))
    lines = ["| configuration | conv. | side | p95 ms, rounds | mean | median | CPU ms/msg, mean | >10s |",
             "|---|--:|---|---|--:|--:|--:|--:|"]
    ratios = []
    for key in keys:
        per_side = {}
        for side in ("before", "after"):
            got = [r.rows[key] for r in runs if r.side == side and key in r.rows]
            if not got:
                continue
            p95 = [g["p95"] for g in got]
            cpu = statistics.mean(g["cpu"] for g in got)
            per_side[side] = (statistics.mean(p95), statistics.median(p95), cpu)
            lines.append(f"| {key[0]} | {key[1]} | {labels[side]} | {', '.join(f'{v:.1f}' for v in p95)} | "
                         f"{per_side[side][0]:.1f} | {per_side[side][1]:.1f} | {cpu:.2f} | {int(sum(g['lost'] for g in got))} |")
        if len(per_side) == 2:
            b, a = per_side["before"], per_side["after"]
            ratios.append(f"  {key[0]}, {key[1]} conversations: p95 mean {100 * (a[0] / b[0] - 1):+.0f} %, "
                          f"median {100 * (a[1] / b[1] - 1):+.0f} %, CPU per message {100 * (a[2] / b[2] - 1):+.1f} %")
    steal = {side: [f"{r.steal_pct:.0f}" for r in runs if r.side == side] for side in ("before", "after")}
    return "\n".join(lines + ["", "After against before:", *ratios, "",
                              f"CPU steal per run, %: {labels['before']}: {', '.join(steal['before'])}; "
                              f"{labels['after']}: {', '.join(steal['after'])}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--levels", default="100,500")
    parser.add_argument("--configs", default="sqlite")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="bench.run --warmup (see WARMUP there)")
    parser.add_argument("--workdir", default=str(ROOT.parent / "oc-bench-ab"), help="where the worktrees are kept")
    parser.add_argument("--log", help="append every run's whole output to this file")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    trees = {"before": checkout(args.before, workdir), "after": checkout(args.after, workdir)}
    labels = {side: f"{side} ({git('rev-parse', '--short', 'HEAD', cwd=tree)})" for side, tree in trees.items()}
    before, after = packages(trees["before"]), packages(trees["after"])
    differ = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    print("packages that differ: " + (", ".join(f"{n} {before.get(n, '-')} / {after.get(n, '-')}" for n in differ) or "none"))
    print(f"{labels['before']} against {labels['after']}: {args.rounds} rounds of --levels {args.levels} "
          f"--configs {args.configs}, {args.duration:.0f} s each after {args.warmup:.0f} s of warm-up", flush=True)
    runs: list[Run] = []
    for n in range(1, args.rounds + 1):
        order = ("before", "after") if n % 2 else ("after", "before")
        for side in order:
            started = time.monotonic()
            steal, rows, output = run_once(trees[side], args)
            runs.append(Run(side, n, steal, rows))
            if args.log:
                with open(args.log, "a") as log:
                    log.write(f"\n## round {n}, {labels[side]}, steal {steal:.1f} %\n{output}")
            cells = "; ".join(f"{c} {lvl}: p95 {v['p95']:.1f} ms, CPU {v['cpu']:.2f}" for (c, lvl), v in sorted(rows.items()))
            print(f"round {n} {labels[side]:<18} steal {steal:4.1f} %  {cells}  ({time.monotonic() - started:.0f} s)", flush=True)
    print()
    print(summary(runs, labels))


if __name__ == "__main__":
    sys.exit(main())
