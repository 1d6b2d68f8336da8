"""The README's "Latest figures" table, made from the JSON that ``benchmarks.run --json``
writes: per row the median over the runs given, the ratio's run-to-run range, the goal and
whether the median meets it, with the machine, versions and load of the runs.

    for i in 1 2 3; do python -m benchmarks.run --memory --json runs/bench$i.json; done
    python -m benchmarks.figures runs/bench*.json                  # print the section
    python -m benchmarks.figures runs/bench*.json --readme README.md  # rewrite it there

With ``--readme`` the text between the two ``benchmarks.figures`` marker comments is
replaced; nothing else in the file changes."""
from __future__ import annotations

import argparse
import json
import statistics
import sys

from benchmarks._readme import replace_section
from benchmarks.run import format_memory, format_time

BEGIN = "<!-- benchmarks.figures: begin (generated; edit benchmarks/figures.py) -->"
END = "<!-- benchmarks.figures: end -->"

# Goals of issue 13: the most a row's nanotorch / torch time ratio may be ("ratio"), or
# the most nanotorch may take ("seconds") or hold ("peak_bytes").
GOALS = {
    "W1": {"ratio": 0.9}, "W2": {"ratio": 1.0}, "W3": {"ratio": 0.8}, "W4": {"ratio": 1.0},
    "W5": {"ratio": 0.8},
    "recipe": {"ratio": 1.0},
    "recipe_expert": {"ratio": 0.8},
    "recipe_expert (work in process)": {"ratio": 0.8},
    "recipe_fashion64": {"ratio": 0.8, "peak_bytes": 1e9},
    "recipe_fashion64 (work in process)": {"ratio": 0.8},
    "cold_start (import + first step in process)": {"seconds": 5.0},
    **{row: {"ratio": 0.8} for row in ("F_mnv2_32", "F_mnv2_112", "F_mnv2_224",
                                       "F_resnet18_224", "F_effb0_224", "F_convnext_t_224",
                                       "F_vit_b16_224")},
}


# what a whole-process row's sides report of themselves -> the derived row's name suffix
_INNER = {"work_s": "work in process", "first_step_s": "import + first step in process"}


def _derived_rows(row):
    """A whole-process row also yields the row of what each side timed inside itself: the
    work without imports (recipes), or import + first step without interpreter start-up
    and exit (cold start)."""
    results = row.get("results") or {}
    sides = [results.get(lib) for lib in ("nanotorch", "torch")]
    return [dict(row, name=f"{row['name']} ({label})",
                 seconds={lib: results[lib][key] for lib in ("nanotorch", "torch")},
                 peak_memory={})
            for key, label in _INNER.items()
            if all(isinstance(side, dict) and key in side for side in sides)]


def collect(runs):
    """{row name: {"row": last record, "nt": [s], "torch": [s], "ratio": [r], "mem": ...}}
    over the runs, in the order rows first appear."""
    table = {}
    for run in runs:
        for record in run["rows"]:
            for row in [record, *_derived_rows(record)]:
                entry = table.setdefault(row["name"], {"row": row, "nt": [], "torch": [],
                                                       "ratio": [], "nt_mem": [],
                                                       "torch_mem": []})
                entry["row"] = row
                nt, th = row["seconds"].get("nanotorch"), row["seconds"].get("torch")
                if nt:
                    entry["nt"].append(nt)
                if th:
                    entry["torch"].append(th)
                if nt and th:
                    entry["ratio"].append(nt / th)
                for lib, key in (("nanotorch", "nt_mem"), ("torch", "torch_mem")):
                    if row["peak_memory"].get(lib) is not None:
                        entry[key].append(row["peak_memory"][lib])
    return table


def _median(values):
    return statistics.median(values) if values else None


def _goal(name, entry):
    """(goal text, "yes"/"no"/"") for a row."""
    goal = GOALS.get(name)
    if not goal:
        return "", ""
    texts, met = [], []
    if "ratio" in goal:
        texts.append(f"<= {goal['ratio']:g}")
        if entry["ratio"]:
            met.append(statistics.median(entry["ratio"]) <= goal["ratio"])
    if "seconds" in goal:
        texts.append(f"<= {goal['seconds']:g} s")
        if entry["nt"]:
            met.append(statistics.median(entry["nt"]) <= goal["seconds"])
    if "peak_bytes" in goal:
        texts.append(f"peak <= {goal['peak_bytes'] / 1e9:g} GB")
        if entry["nt_mem"]:
            met.append(statistics.median(entry["nt_mem"]) <= goal["peak_bytes"])
    return ", ".join(texts), ("yes" if all(met) else "no") if met else "?"


def render(runs) -> str:
    """The section's markdown."""
    machine = runs[-1]["machine"]
    loads = [m for run in runs for m in (run["machine"]["load_before"][0],
                                         run["machine"].get("load_after", [None])[0])
             if m is not None]
    lines = [
        f"`python -m benchmarks.run --memory --json ...` run {len(runs)} times "
        f"({', '.join(sorted({run['machine']['date'] for run in runs}))}), made into this "
        f"table by `python -m benchmarks.figures`. Machine: {machine['cpu']}, "
        f"{machine['cores']} cores, {machine['threads']} threads; {machine['versions']}; "
        f"OpenBLAS kernels: {machine['openblas_core']}; one-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f} around the runs. Each cell is the median over the "
        f"runs; ratio = nanotorch time / PyTorch time in the same run (below 1: nanotorch "
        f"faster), with its range over the runs; peak memory = resident memory added while "
        f"stepping (whole-process rows: the process's peak).",
        "",
        "| workload | nanotorch | torch | ratio | range | goal | met | nt peak mem | "
        "torch peak mem |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in collect(runs).items():
        row = e["row"]
        ratio = f"{statistics.median(e['ratio']):.2f}" if e["ratio"] else "-"
        spread = (f"{min(e['ratio']):.2f}-{max(e['ratio']):.2f}"
                  if len(e["ratio"]) > 1 else "-")
        goal, met = _goal(name, e)
        nt, th = (format_time(row["unit"], row["batch"], _median(e[k])) for k in ("nt", "torch"))
        lines.append(f"| {name} | {nt} | {th} | {ratio} | {spread} | {goal} | {met} | "
                     f"{format_memory(_median(e['nt_mem']))} | "
                     f"{format_memory(_median(e['torch_mem']))} |")
    lines += ["", "Rows:", ""]
    seen = set()
    for run in runs:
        for record in run["rows"]:
            if record["name"] not in seen:
                seen.add(record["name"])
                lines.append(f"- `{record['name']}`: {record['description']}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.figures",
                                description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="JSON files written by benchmarks.run --json")
    p.add_argument("--readme", help="rewrite the figures section of this README")
    args = p.parse_args(argv)
    runs = []
    for path in args.runs:
        with open(path) as f:
            runs.append(json.load(f))
    section = render(runs)
    if args.readme:
        replace_section(args.readme, BEGIN, END, section)
    else:
        sys.stdout.write(section + "\n")


if __name__ == "__main__":
    main()
