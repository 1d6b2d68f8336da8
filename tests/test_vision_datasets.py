"""Datasets and image reading: class folders, IDX files, npz files and the shipped assets."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from helpers import idx_bytes, write_file  # noqa: E402

from nanotorch.vision import (  # noqa: E402
    MNIST,
    FashionMNIST,
    ImageFolder,
    ImageReadError,
    NpzImageDataset,
    load_image,
    read_idx,
)

REPO = Path(__file__).resolve().parents[1]
ASSET = REPO / "recipes" / "data" / "fashion_mnist_small.npz"
PHOTOS = REPO / "tests" / "fixtures" / "images"
DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def _rgb(seed, h=6, w=5):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def _corrupt(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)


def _truncated_png(path, seed=0):
    _save(path, _rgb(seed, 32, 32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ------------------------------------------------------------------ load_image


def test_load_image_decodes_and_converts(tmp_path):
    arr = _save(tmp_path / "a.png", _rgb(1))
    img = load_image(tmp_path / "a.png")
    assert img.mode == "RGB" and np.array_equal(np.asarray(img), arr)
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    _save(tmp_path / "g.png", gray)
    assert load_image(tmp_path / "g.png", mode=None).mode == "L"
    assert np.array_equal(np.asarray(load_image(tmp_path / "g.png")),
                          np.repeat(gray[..., None], 3, 2))


def test_load_image_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_image(tmp_path / "missing.png")
    _corrupt(tmp_path / "bad.png")
    with pytest.raises(ImageReadError, match="bad.png") as info:
        load_image(tmp_path / "bad.png")
    assert isinstance(info.value, ValueError) and info.value.path.endswith("bad.png")
    _truncated_png(tmp_path / "half.png")
    with pytest.raises(ImageReadError, match="half.png"):
        load_image(tmp_path / "half.png")


# ----------------------------------------------------------------- ImageFolder


def _tree(root):
    a = _save(root / "dog" / "b.png", _rgb(1))
    b = _save(root / "cat" / "z.png", _rgb(2))
    c = _save(root / "cat" / "sub" / "a.PNG", _rgb(3))
    (root / "cat" / "notes.txt").write_text("not an image")
    return {"dog/b.png": a, "cat/z.png": b, "cat/sub/a.PNG": c}


def test_image_folder_layout(tmp_path):
    arrays = _tree(tmp_path)
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    rel = [(os.path.relpath(p, tmp_path).replace(os.sep, "/"), t) for p, t in ds.samples]
    assert rel == [("cat/z.png", 0), ("cat/sub/a.PNG", 0), ("dog/b.png", 1)]  # folder files first
    assert ds.targets == [0, 0, 1] and len(ds) == 3 and ds.skipped == []
    for i, (name, t) in enumerate(rel):
        img, target = ds[i]
        assert target == t and img.mode == "RGB"
        assert np.array_equal(np.asarray(img), arrays[name])


def test_image_folder_transforms(tmp_path):
    arrays = _tree(tmp_path)
    ds = ImageFolder(tmp_path, transform=lambda im: np.asarray(im)[0, 0],
                     target_transform=lambda t: t + 10)
    x, y = ds[-1]
    assert y == 11 and np.array_equal(x, arrays["dog/b.png"][0, 0])


def test_image_folder_empty_class(tmp_path):
    _tree(tmp_path)
    (tmp_path / "empty_one").mkdir()
    (tmp_path / "empty_one" / "readme.md").write_text("no images here")
    with pytest.raises(ValueError, match="empty_one"):
        ImageFolder(tmp_path)
    ds = ImageFolder(tmp_path, allow_empty=True)
    assert ds.classes == ["cat", "dog", "empty_one"] and ds.targets == [0, 0, 1]


def test_image_folder_corrupt_raise_then_skip(tmp_path):
    _tree(tmp_path)
    _corrupt(tmp_path / "dog" / "broken.png")
    _truncated_png(tmp_path / "cat" / "half.png")
    ds = ImageFolder(tmp_path)  # default: files are only read on access
    assert len(ds) == 5
    bad = [i for i, (p, _) in enumerate(ds.samples) if p.endswith("broken.png")][0]
    with pytest.raises(ImageReadError, match="broken.png"):
        ds[bad]

    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        ds = ImageFolder(tmp_path, on_error="skip")
    assert len(ds) == 3 and ds.targets == [0, 0, 1]
    assert sorted(os.path.basename(p) for p, _ in ds.skipped) == ["broken.png", "half.png"]
    assert all(reason for _, reason in ds.skipped)
    for i in range(len(ds)):
        ds[i]


def test_image_folder_all_files_of_a_class_unreadable(tmp_path):
    _save(tmp_path / "ok" / "a.png", _rgb(0))
    _corrupt(tmp_path / "bad" / "x.png")
    with pytest.raises(ValueError, match=r"/bad'.*no readable image files \(1 unreadable\)"):
        ImageFolder(tmp_path, on_error="skip")


def test_image_folder_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "loose.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        ImageFolder(tmp_path)
    _save(tmp_path / "a" / "x.png", _rgb(0))
    with pytest.raises(ValueError, match="on_error"):
        ImageFolder(tmp_path, on_error="ignore")


# ------------------------------------------------------------------- IDX files


def _write_split(folder, prefix="train", n=7, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    write_file(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz)
    write_file(folder / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx(tmp_path, gz):
    images, labels = _write_split(tmp_path, "train", gz=gz)
    test_images, test_labels = _write_split(tmp_path, "t10k", n=3, gz=gz, seed=1)
    ds = MNIST(tmp_path)
    assert ds.data.dtype == np.uint8 and ds.data.shape == (7, 28, 28)
    assert ds.targets.dtype == np.int64 and np.array_equal(ds.targets, labels)
    assert np.array_equal(ds.data, images) and len(ds) == 7 and len(ds.classes) == 10
    img, y = ds[2]
    assert img.mode == "L" and np.array_equal(np.asarray(img), images[2]) and y == labels[2]
    assert type(y) is int
    test = MNIST(tmp_path, train=False, transform=np.asarray, target_transform=str)
    x, y = test[0]
    assert np.array_equal(x, test_images[0]) and y == str(test_labels[0])


def test_fashion_mnist_torchvision_layout(tmp_path):
    images, labels = _write_split(tmp_path / "FashionMNIST" / "raw", "t10k")
    ds = FashionMNIST(tmp_path, train=False)
    assert np.array_equal(ds.data, images) and np.array_equal(ds.targets, labels)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert ds.class_to_idx["Bag"] == 8
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        FashionMNIST(tmp_path, train=True)  # only the test split exists


def test_idx_wrong_magic(tmp_path):
    _write_split(tmp_path)
    labels_as_images = idx_bytes(np.zeros((7, 28), np.uint8))  # magic 2050, not 2051
    write_file(tmp_path / "train-images-idx3-ubyte", labels_as_images, True)
    with pytest.raises(ValueError, match="magic number 2051.*got 2050"):
        MNIST(tmp_path)
    write_file(tmp_path / "train-images-idx3-ubyte", b"\x01\x02" + labels_as_images[2:], True)
    with pytest.raises(ValueError, match="bad magic number 0x0102"):
        MNIST(tmp_path)


def test_idx_wrong_length(tmp_path):
    images, _ = _write_split(tmp_path)
    payload = idx_bytes(images)
    write_file(tmp_path / "train-images-idx3-ubyte", payload[:-5], True)
    with pytest.raises(ValueError, match=r"shape \(7, 28, 28\).*has 5499 bytes"):
        MNIST(tmp_path)
    write_file(tmp_path / "train-images-idx3-ubyte", payload[:10], True)
    with pytest.raises(ValueError, match="truncated IDX header"):
        MNIST(tmp_path)


def test_idx_count_mismatch_and_bad_labels(tmp_path):
    _write_split(tmp_path)
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(6, np.uint8)), True)
    with pytest.raises(ValueError, match="7 images .* but 6 labels"):
        MNIST(tmp_path)
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.full(7, 10, np.uint8)), True)
    with pytest.raises(ValueError, match="label 10 out of range"):
        MNIST(tmp_path)


def test_idx_corrupt_gzip(tmp_path):
    _write_split(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(ValueError, match="corrupt gzip"):
        MNIST(tmp_path)


def test_read_idx_other_dtypes(tmp_path):
    arr = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    out = read_idx(write_file(tmp_path / "a.idx", idx_bytes(arr, 0x0C), False))
    assert out.dtype == np.int32 and out.dtype.isnative and np.array_equal(out, arr)
    arr = np.linspace(-1, 1, 5)
    path = write_file(tmp_path / "b.idx.gz", idx_bytes(arr, 0x0E), True)
    assert np.array_equal(read_idx(path), arr)


def test_download_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.gz.*FashionMNIST"):
        FashionMNIST(tmp_path, download=True)
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        MNIST(tmp_path, train=False)


# ------------------------------------------------------------------ npz files


def test_npz_dataset_splits(tmp_path):
    rng = np.random.default_rng(0)
    x_tr = rng.integers(0, 256, (6, 4, 5, 3), dtype=np.uint8)
    x_te = rng.integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x_tr, y_train=np.array([0, 1, 2, 0, 1, 2], np.int32),
             x_test=x_te, y_test=np.array([2, 1], np.uint8), classes=np.array(["a", "b", "c"]))
    ds = NpzImageDataset(path)
    assert len(ds) == 6 and ds.classes == ["a", "b", "c"] and ds.targets.dtype == np.int64
    x, y = ds[3]
    assert np.array_equal(x, x_tr[3]) and y == 0 and type(y) is int
    test = NpzImageDataset(path, split="test", transform=lambda a: a.sum())
    assert test[1] == (int(x_te[1].sum()), 1)
    with pytest.raises(KeyError, match=r"split='val'.*available splits: \['test', 'train'\]"):
        NpzImageDataset(path, split="val")


def test_npz_images_labels_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((3, 2, 2), np.uint8), labels=np.array([0, 4, 1]))
    ds = NpzImageDataset(path, split=None)
    assert ds.classes == ["0", "1", "2", "3", "4"] and ds.data.shape == (3, 2, 2)
    with pytest.raises(KeyError, match=r"split='train'; available splits: \[None\]"):
        NpzImageDataset(path)


@pytest.mark.parametrize("images,labels,match", [
    (np.zeros((3, 2, 2), np.float32), np.zeros(3, np.int64), "must be uint8"),
    (np.zeros((3, 2, 2, 2), np.uint8), np.zeros(3, np.int64), r"shape \(3, 2, 2, 2\)"),
    (np.zeros((3, 4), np.uint8), np.zeros(3, np.int64), r"shape \(3, 4\)"),
    (np.zeros((3, 2, 2), np.uint8), np.zeros(4, np.int64), "3 images .* but 4 labels"),
    (np.zeros((3, 2, 2), np.uint8), np.zeros(3, np.float32), "1-D integer"),
    (np.zeros((3, 2, 2), np.uint8), np.array([0, -1, 2]), "negative label -1"),
])
def test_npz_validation(tmp_path, images, labels, match):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=images, y_train=labels)
    with pytest.raises(ValueError, match=match):
        NpzImageDataset(path)


def test_npz_label_outside_classes(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((2, 2, 2), np.uint8), y_train=np.array([0, 2]),
             classes=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="label 2 out of range for 2 classes"):
        NpzImageDataset(path)


# ---------------------------------------------------------------- shipped assets


def test_fashion_mnist_small_asset():
    for split, n in (("train", 5000), ("test", 1000)):
        ds = NpzImageDataset(ASSET, split=split)
        assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
        assert ds.targets.dtype == np.int64 and ds.targets.min() == 0 and ds.targets.max() == 9
        counts = np.bincount(ds.targets, minlength=10) / n
        assert counts.min() > 0.07 and counts.max() < 0.13, counts
        assert ds.classes == FashionMNIST.classes
        # real garment photos: dark background, a sizeable share of bright pixels
        assert (ds.data[:, 0, 0] == 0).mean() > 0.9 and 0.2 < (ds.data > 128).mean() < 0.5
    with np.load(ASSET, allow_pickle=False) as f:
        assert sorted(f.files) == ["classes", "x_test", "x_train", "y_test", "y_train"]


@pytest.mark.skipif(not DEBIAN_FMNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_asset_matches_official_files():
    for train, n in ((True, 5000), (False, 1000)):
        full = FashionMNIST(DEBIAN_FMNIST, train=train)
        small = NpzImageDataset(ASSET, split="train" if train else "test")
        assert len(full) == (60000 if train else 10000)
        assert np.array_equal(small.data, full.data[:n])
        assert np.array_equal(small.targets, full.targets[:n])


def test_fixture_photos_and_licences():
    text = (PHOTOS / "LICENSES.md").read_text()
    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert 2 <= len(photos) <= 4
    for p in photos:
        assert re.search(rf"`{re.escape(p.name)}`.*CC0", text), f"{p.name} has no licence entry"
        assert p.stat().st_size < 100_000
        img = load_image(p)
        assert img.mode == "RGB" and min(img.size) == 256
        assert np.asarray(img).std() > 20  # a photo, not a flat image
