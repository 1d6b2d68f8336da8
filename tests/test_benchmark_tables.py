"""The README's generated sections: benchmarks.run --json -> benchmarks.figures, and the
zoo table of benchmarks.zoo_table."""
import json

import pytest

import nanotorch as nt
from benchmarks import _readme, figures, run, zoo_table
from benchmarks.workloads import Workload

MACHINE = {"cpu": "Test CPU", "cores": 2, "threads": 2, "versions": "python 3, torch 2",
           "openblas_core": "SkylakeX", "date": "2026-12-02", "load_before": [0.5, 0, 0],
           "load_after": [1.5, 0, 0]}


def _run(w1_nt, w1_torch, expert_work, mem=2 << 20):
    return {"machine": MACHINE, "rows": [
        {"name": "W1", "description": "an MLP", "unit": "ms", "batch": 1,
         "seconds": {"nanotorch": w1_nt, "torch": w1_torch}, "results": {},
         "peak_memory": {"nanotorch": mem, "torch": 2 * mem}},
        {"name": "recipe_expert", "description": "whole processes", "unit": "s", "batch": 1,
         "seconds": {"nanotorch": 8.0, "torch": 10.0},
         "results": {"nanotorch": {"work_s": expert_work, "peak_rss": mem},
                     "torch": {"work_s": 4.0, "peak_rss": mem}},
         "peak_memory": {"nanotorch": mem, "torch": mem}},
    ]}


def test_figures_take_medians_ranges_and_goals_over_runs():
    text = figures.render([_run(0.010, 0.010, 2.0), _run(0.008, 0.010, 3.0),
                           _run(0.012, 0.010, 6.0)])
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")
            for line in text.splitlines() if line.startswith("| ")}
    # W1: median 10 ms, ratio median 1.00 over 0.80-1.20; goal 0.9 not met
    assert rows["W1"][1:7] == ["10.00 ms", "10.00 ms", "1.00", "0.80-1.20", "<= 0.9", "no"]
    assert rows["W1"][7:] == ["2 MiB", "4 MiB |"]
    # the whole-process row is met (0.8); its work-in-process row (3.0 / 4.0) is met too
    assert rows["recipe_expert"][3:7] == ["0.80", "0.80-0.80", "<= 0.8", "yes"]
    assert rows["recipe_expert (work in process)"][1:7] == ["3.0 s", "4.0 s", "0.75",
                                                            "0.50-1.50", "<= 0.8", "yes"]
    assert "3 times" in text and "Test CPU" in text and "load average 0.5-1.5" in text
    assert "- `W1`: an MLP" in text


def test_readme_section_is_replaced_between_its_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- b -->\nold table\n<!-- e -->\noutro\n")
    _readme.replace_section(str(readme), "<!-- b -->", "<!-- e -->", "new table")
    assert readme.read_text() == "intro\n<!-- b -->\nnew table\n<!-- e -->\noutro\n"
    with pytest.raises(SystemExit, match="markers"):
        _readme.replace_section(str(readme), "<!-- x -->", "<!-- e -->", "t")


def test_run_writes_json_that_figures_read(tmp_path, monkeypatch, capsys):
    w = Workload("tiny", "a tiny sum", lambda lib: (lambda: lib.ones(4).sum()), repeat=3)
    monkeypatch.setitem(run.WORKLOADS, "tiny", w)
    path = tmp_path / "bench.json"
    run.main(["tiny", "--no-torch", "--json", str(path)])
    data = json.loads(path.read_text())
    assert data["machine"]["threads"] >= 1 and "numpy" in data["machine"]["versions"]
    (row,) = data["rows"]
    assert row["name"] == "tiny" and row["seconds"]["nanotorch"] > 0
    assert "| tiny |" in figures.render([data])


def test_zoo_table_lists_every_model_with_its_measurement():
    results = {"resnet18": {"img_s": 12.345}, "vgg11": {"error": "over 900 s"}}
    lines = zoo_table.table(results, batch=8).splitlines()
    assert lines[0] == "| model | parameters | default weights | eval img/s (batch 8, 224 px) |"
    assert len(lines) == 2 + len(nt.models.list_models())
    by_name = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    assert by_name["resnet18"] == ("| resnet18 | 11,689,512 | ResNet18_Weights.IMAGENET1K_V1 | "
                                   "12.3 |")
    assert by_name["vgg11"].endswith("| over 900 s |")
    assert by_name["alexnet" if "alexnet" in by_name else "squeezenet1_1"].endswith(
        "| not measured |")
    assert "(633,470,440 at 518 px, its weights' size)" in by_name["vit_h_14"]


def test_zoo_table_times_a_model_in_a_fresh_process():
    r = zoo_table.measure_in_subprocess("squeezenet1_1", batch=1, repeats=1, timeout=600)
    assert r["img_s"] > 0
    assert "error" in zoo_table.measure_in_subprocess("no_such_model", 1, 1, timeout=600)


def test_cold_start_goal_is_on_import_plus_first_step_in_process():
    run = {"machine": MACHINE, "rows": [
        {"name": "cold_start", "description": "fresh process", "unit": "s", "batch": 1,
         "seconds": {"nanotorch": 5.5, "torch": 3.0},
         "results": {"nanotorch": {"import_s": 0.5, "first_step_s": 4.5},
                     "torch": {"import_s": 1.0, "first_step_s": 2.5}},
         "peak_memory": {}}]}
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")
            for line in figures.render([run]).splitlines() if line.startswith("| ")}
    assert rows["cold_start"][5:7] == ["", ""]
    assert rows["cold_start (import + first step in process)"][1:7] == [
        "4.5 s", "2.5 s", "1.80", "-", "<= 5 s", "yes"]


def test_gemm_share_counts_the_products_of_convs_and_linears():
    from benchmarks import gemm_share
    model = nt.nn.Sequential(nt.nn.Conv2d(3, 8, 3, padding=1), nt.nn.Conv2d(8, 8, 3, groups=8),
                             nt.nn.Flatten(), nt.nn.Linear(8 * 4 * 4, 5))
    calls = gemm_share.layer_shapes(model, (2, 3, 6, 6))
    assert [c[0] for c in calls] == ["Conv2d", "Conv2d", "Linear"]
    products, depthwise = gemm_share.gemms(calls, train=False)
    # conv: (2*6*6 rows, 3*3*3, 8); linear: (2, 128, 5); the depthwise conv is no GEMM
    assert products == {(72, 27, 8): 1, (2, 128, 5): 1}
    assert depthwise == 2 * (2 * 4 * 4) * 9 * 1 * 8
    trained, _ = gemm_share.gemms(calls, train=True)
    assert trained[(72, 8, 27)] == 1 and trained[(27, 72, 8)] == 1 and len(trained) == 6
