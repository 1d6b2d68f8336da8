"""Datasets on bad data: empty class folders, unreadable images, label files that do not
match their image files, corrupt archives. Each gives a clear error naming the file(s) and
the values, or, where a flag asks for it, a skip that is reported."""
import os
import warnings

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from helpers import idx_bytes, write_file  # noqa: E402

from nanotorch.utils.data import DataLoader  # noqa: E402
from nanotorch.vision import (  # noqa: E402
    MNIST,
    EmptyClassFolderError,
    FashionMNIST,
    ImageFolder,
    ImageReadError,
    NpzImageDataset,
)


def _png(path, seed=0, size=(5, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size + (3,), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _folder_tree(root, classes=("a", "b"), per_class=2):
    for c, name in enumerate(classes):
        for i in range(per_class):
            _png(root / name / f"{i}.png", seed=10 * c + i)
    return root


# corruptions of a file that has an image extension
def _zero_bytes(path):
    path.write_bytes(b"")


def _text_as_png(path):
    path.write_text("this is a text file with a .png name\n" * 3)


def _truncated_jpeg(path):
    arr = np.random.default_rng(5).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format="JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _png_header_only(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)


CORRUPTIONS = {"zero-bytes.png": _zero_bytes, "text.png": _text_as_png,
               "truncated.jpg": _truncated_jpeg, "header-only.png": _png_header_only}


# ------------------------------------------------------------- empty class folders


def test_empty_class_folder_raises_file_not_found_naming_it(tmp_path):
    _folder_tree(tmp_path)
    (tmp_path / "c_empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"classes c_empty:.*c_empty' has no image files"):
        ImageFolder(tmp_path)


def test_empty_class_error_is_also_a_value_error(tmp_path):
    _folder_tree(tmp_path)
    (tmp_path / "c_empty").mkdir()
    with pytest.raises(ValueError) as info:
        ImageFolder(tmp_path)
    assert isinstance(info.value, EmptyClassFolderError)
    assert "allow_empty=True" in str(info.value)


def test_every_empty_class_is_named_with_its_reason(tmp_path):
    _folder_tree(tmp_path)
    (tmp_path / "notes" / "deep" / "deeper").mkdir(parents=True)  # only empty sub-folders
    (tmp_path / "notes" / "readme.txt").write_text("no images")  # wrong extension
    _text_as_png(_png(tmp_path / "zz_broken" / "x.png"))
    with pytest.raises(EmptyClassFolderError) as info:
        ImageFolder(tmp_path, on_error="skip")
    msg = str(info.value)
    assert "classes notes, zz_broken" in msg
    assert f"{str(tmp_path / 'notes')!r} has no image files" in msg
    assert f"{str(tmp_path / 'zz_broken')!r} has no readable image files (1 unreadable)" in msg
    assert ".png" in msg  # the accepted extensions are listed


def test_unreadable_only_class_is_found_lazily_without_skip(tmp_path):
    # on_error="raise" does not decode at construction: the class has a candidate file,
    # and loading it raises naming the file
    _folder_tree(tmp_path)
    _text_as_png(_png(tmp_path / "c" / "x.png"))
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["a", "b", "c"] and ds.targets[-1] == 2
    with pytest.raises(ImageReadError, match="x.png"):
        ds[len(ds) - 1]


def test_allow_empty_keeps_the_class_and_reports_it(tmp_path):
    _folder_tree(tmp_path, classes=("a", "c"))
    (tmp_path / "b").mkdir()
    with pytest.warns(UserWarning, match=r"1 class folder\(s\).*empty classes: b"):
        ds = ImageFolder(tmp_path, allow_empty=True)
    assert ds.classes == ["a", "b", "c"] and ds.class_to_idx["c"] == 2
    assert ds.empty_classes == ["b"]
    assert ds.targets == [0, 0, 2, 2]  # indices keep counting the empty class


def test_no_warning_without_empty_classes(tmp_path):
    _folder_tree(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ImageFolder(tmp_path, allow_empty=True)
    assert ds.empty_classes == [] and len(ds) == 4


def test_skip_and_allow_empty_report_both(tmp_path):
    _folder_tree(tmp_path)
    _zero_bytes(_png(tmp_path / "c" / "x.png"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ImageFolder(tmp_path, on_error="skip", allow_empty=True)
    text = " | ".join(str(w.message) for w in caught)
    assert "skipped 1 unreadable" in text and "empty classes: c" in text
    assert ds.empty_classes == ["c"] and len(ds) == 4
    assert [os.path.basename(p) for p, _ in ds.skipped] == ["x.png"]


# ---------------------------------------------------------------- unreadable images


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_unreadable_image_raises_on_access_naming_the_file(tmp_path, name):
    _folder_tree(tmp_path)
    CORRUPTIONS[name](tmp_path / "b" / name)
    ds = ImageFolder(tmp_path, on_error="raise")
    assert len(ds) == 5
    bad = next(i for i, (p, _) in enumerate(ds.samples) if p.endswith(name))
    with pytest.raises(ImageReadError, match=name) as info:
        ds[bad]
    assert info.value.path.endswith(name) and info.value.reason


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_unreadable_image_is_skipped_and_reported(tmp_path, name):
    _folder_tree(tmp_path)
    CORRUPTIONS[name](tmp_path / "b" / name)
    with pytest.warns(UserWarning, match=f"skipped 1 unreadable file.*{name}"):
        ds = ImageFolder(tmp_path, on_error="skip")
    assert len(ds) == 4 and ds.targets == [0, 0, 1, 1]
    assert len(ds.skipped) == 1 and ds.skipped[0][0].endswith(name) and ds.skipped[0][1]
    assert all(np.asarray(ds[i][0]).shape == (5, 4, 3) for i in range(len(ds)))


def test_bad_image_error_reaches_the_training_loop(tmp_path):
    _folder_tree(tmp_path)
    _text_as_png(tmp_path / "a" / "bad.png")
    ds = ImageFolder(tmp_path, transform=lambda im: np.asarray(im, dtype=np.float32))
    loader = DataLoader(ds, batch_size=2, shuffle=False)
    with pytest.raises(ImageReadError, match="bad.png"):
        for _ in loader:
            pass


def test_on_error_flag_is_checked(tmp_path):
    _folder_tree(tmp_path)
    with pytest.raises(ValueError, match=r"on_error must be 'raise' or 'skip', got 'warn'"):
        ImageFolder(tmp_path, on_error="warn")


# ------------------------------------------------------------------ IDX label files


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("n_images,n_labels", [(5, 4), (5, 6), (0, 3), (3, 0)])
def test_idx_label_count_mismatch_names_counts_and_files(tmp_path, gz, n_images, n_labels):
    rng = np.random.default_rng(0)
    img = write_file(tmp_path / "train-images-idx3-ubyte",
                     idx_bytes(rng.integers(0, 256, (n_images, 28, 28))), gz)
    lbl = write_file(tmp_path / "train-labels-idx1-ubyte",
                     idx_bytes(rng.integers(0, 10, n_labels)), gz)
    with pytest.raises(ValueError) as info:
        MNIST(tmp_path)
    msg = str(info.value)
    assert f"{n_images} images in {str(img)!r}" in msg
    assert f"{n_labels} labels in {str(lbl)!r}" in msg


def test_idx_label_mismatch_in_test_split_of_fashion_mnist(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_file(raw / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((4, 28, 28))), True)
    write_file(raw / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(2)), True)
    with pytest.raises(ValueError, match=r"FashionMNIST: 4 images in .*t10k-images.* but 2 "
                                         r"labels in .*t10k-labels"):
        FashionMNIST(tmp_path, train=False)


def test_idx_matching_counts_load(tmp_path):
    rng = np.random.default_rng(1)
    images, labels = rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3)
    write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(images), False)
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), False)
    ds = MNIST(tmp_path)
    assert len(ds) == 3 and np.array_equal(ds.targets, labels)


@pytest.mark.parametrize("payload,match", [
    (b"", "only 0 bytes"),
    (b"\x00\x00\x08", "only 3 bytes"),
    (b"\x00\x00\x08\x01\x00\x00", r"truncated IDX header \(6 bytes, need 8\)"),
])
def test_idx_empty_or_cut_label_file(tmp_path, payload, match):
    write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((2, 28, 28))), False)
    lbl = write_file(tmp_path / "train-labels-idx1-ubyte", payload, False)
    with pytest.raises(ValueError, match=match) as info:
        MNIST(tmp_path)
    assert str(lbl) in str(info.value)


# ------------------------------------------------------------------------ npz files


@pytest.mark.parametrize("split,xk,yk", [("train", "x_train", "y_train"),
                                         ("test", "x_test", "y_test"),
                                         (None, "images", "labels")])
@pytest.mark.parametrize("n_images,n_labels", [(4, 3), (2, 5), (0, 1)])
def test_npz_length_mismatch_names_counts_keys_and_file(tmp_path, split, xk, yk, n_images,
                                                        n_labels):
    path = tmp_path / "d.npz"
    np.savez(path, **{xk: np.zeros((n_images, 3, 3), np.uint8),
                      yk: np.zeros(n_labels, np.int64)})
    with pytest.raises(ValueError) as info:
        NpzImageDataset(path, split=split)
    msg = str(info.value)
    assert str(path) in msg
    assert f"{n_images} images in {xk!r}" in msg and f"{n_labels} labels in {yk!r}" in msg


def _good_npz(path):
    np.savez(path, x_train=np.zeros((3, 2, 2), np.uint8), y_train=np.array([0, 1, 2]))
    return path.read_bytes()


def _corrupt_crc(path):
    data = bytearray(_good_npz(path))
    start = data.index(b"x_train.npy") + 80  # inside the stored array bytes
    data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


NPZ_DAMAGE = {
    "empty": (lambda p: p.write_bytes(b""), r"not a \.npz \(zip\) archive.*0 bytes"),
    "text": (lambda p: p.write_text("x_train,y_train\n1,2\n"), r"not a \.npz \(zip\) archive"),
    "truncated": (lambda p: p.write_bytes(_good_npz(p)[:200]), r"not a \.npz \(zip\) archive"),
    "bad-crc": (_corrupt_crc, r"corrupt \.npz archive \(BadZipFile"),
    "object-array": (lambda p: np.savez(p, x_train=np.array([None, 1], dtype=object),
                                        y_train=np.zeros(2, np.int64)),
                     "cannot read the arrays of split='train'.*allow_pickle"),
}


@pytest.mark.parametrize("damage", list(NPZ_DAMAGE))
def test_npz_unreadable_file_gives_clear_error(tmp_path, damage):
    path = tmp_path / "data.npz"
    make, match = NPZ_DAMAGE[damage]
    make(path)
    with pytest.raises(ValueError, match=match) as info:
        NpzImageDataset(path)
    assert str(path) in str(info.value)


def test_npz_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        NpzImageDataset(tmp_path / "nope.npz")


def test_npz_intact_file_still_loads(tmp_path):
    path = tmp_path / "ok.npz"
    _good_npz(path)
    ds = NpzImageDataset(path)
    assert len(ds) == 3 and ds.classes == ["0", "1", "2"]
