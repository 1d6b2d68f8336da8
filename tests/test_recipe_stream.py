"""The recipe's streamed preprocessing (recipes/stream.py) and feature store
(recipes/features.py): batches equal the per-sample transform bit for bit, features in a
mapped file equal features in memory, and the recipe's results do not depend on where the
features live."""
import os

import numpy as np
import pytest
from PIL import Image

import nanotorch as nt
from nanotorch.utils.data import DataLoader
from recipes import features, finetune
from recipes.data import _check_size, eval_transform
from recipes.stream import Preprocessed


class _Images:
    """(image, label) samples from a list of images."""

    def __init__(self, images):
        self.images = images
        self.targets = [i % 3 for i in range(len(images))]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]


def _rng_u8(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _sources():
    gray = [_rng_u8((9 + i, 7 + 2 * i), i) for i in range(5)]
    rgb = [_rng_u8((11, 6 + i, 3), 10 + i) for i in range(5)]
    return {
        "gray arrays": (gray, True),
        "gray PIL": ([Image.fromarray(a) for a in gray], True),
        "RGB arrays": (rgb, False),
        "RGB PIL": ([Image.fromarray(a) for a in rgb], False),
        # a colour image in a grey dataset, a palette image, float pixels: mixed paths
        "mixed grey": ([gray[0], Image.fromarray(rgb[1]), gray[2].astype(np.float32),
                        Image.fromarray(gray[3]).convert("P"), rgb[4]], True),
        "mixed RGB": ([rgb[0], Image.fromarray(gray[1]), Image.fromarray(rgb[2]).convert("P"),
                       rgb[3], Image.fromarray(rgb[4])], False),
    }


@pytest.mark.parametrize("name", list(_sources()))
@pytest.mark.parametrize("size", [8, 16])
def test_batch_equals_the_per_sample_transform(name, size):
    images, gray = _sources()[name]
    source = Preprocessed(_Images(images), size, gray, eval_transform(size, gray), _check_size)
    x, y = source.batch(range(len(images)))
    assert x.shape == (len(images), 3, size, size) and x.dtype == np.float32
    for i, image in enumerate(images):
        expected = eval_transform(size, gray)(image).numpy()
        np.testing.assert_array_equal(x[i], expected, err_msg=f"{name} image {i}")
    np.testing.assert_array_equal(y, source.labels)


def test_batches_in_order_and_through_a_dataloader():
    images, gray = _sources()["gray arrays"]
    source = Preprocessed(_Images(images), 8, gray, eval_transform(8, gray), _check_size)
    whole, labels = source.batch(range(5))
    starts, parts = zip(*source.batches(2))
    assert starts == (0, 2, 4)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    x, y = next(iter(DataLoader(source, batch_size=5)))
    np.testing.assert_array_equal(x.numpy(), whole)
    np.testing.assert_array_equal(y.numpy(), labels)
    sub = source.select([4, 1])
    np.testing.assert_array_equal(sub.batch(range(2))[0], whole[[4, 1]])
    np.testing.assert_array_equal(sub.labels, labels[[4, 1]])


def test_a_bad_image_in_a_batch_names_its_sample():
    images = [_rng_u8((8, 8), 0), np.zeros((0, 8), np.uint8)]
    source = Preprocessed(_Images(images), 8, True, eval_transform(8, True), _check_size)
    with pytest.raises(ValueError, match="image 1"):
        list(source.batches(2))


def _model():
    nt.manual_seed(0)
    model = nt.nn.Sequential(nt.nn.Conv2d(3, 4, 3), nt.nn.AdaptiveAvgPool2d(1),
                             nt.nn.Flatten(), nt.nn.Linear(4, 3))
    return model


def test_features_in_a_file_equal_features_in_memory(tmp_path):
    images = [_rng_u8((10, 10), i) for i in range(7)]
    source = Preprocessed(_Images(images), 8, True, eval_transform(8, True), _check_size)
    model = _model()
    in_memory = features.extract(model, source, 3)
    on_disk = features.extract(model, source, 3, directory=tmp_path, budget=0)
    assert isinstance(on_disk, features.FeatureFile) and len(on_disk) == 7
    assert os.listdir(tmp_path) == []  # the file is unlinked while open
    memory_rows = in_memory.tensors[0].numpy()
    np.testing.assert_array_equal(on_disk.tensors[0].numpy(), memory_rows)
    order = [6, 0, 3, 3, 5, 1, 2, 4]
    x, y = next(iter(DataLoader(on_disk, batch_size=len(order), sampler=order)))
    np.testing.assert_array_equal(x.numpy(), memory_rows[order])
    np.testing.assert_array_equal(y.numpy(), source.labels[order])
    np.testing.assert_array_equal(on_disk.rows(range(2, 6)), memory_rows[2:6])  # one read
    with pytest.raises(IndexError):
        on_disk.rows([7])
    row, label = on_disk[5]
    np.testing.assert_array_equal(row.numpy(), memory_rows[5])
    assert int(label) == source.labels[5]
    # the same numbers as the model's own penultimate output, in batches of 3
    x = nt.from_numpy(source.batch(range(7))[0])
    with nt.no_grad():
        expected = np.concatenate([model[:3](x[i:i + 3]).numpy() for i in range(0, 7, 3)])
    np.testing.assert_array_equal(memory_rows, expected)


def _npz(path, n_train=20, n_test=9):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 12, 12), dtype=np.uint8),
             y_train=np.arange(n_train) % 3, x_test=rng.integers(0, 256, (n_test, 12, 12),
                                                                  dtype=np.uint8),
             y_test=np.arange(n_test) % 3)
    return path


def test_recipe_results_do_not_depend_on_where_features_live(tmp_path, monkeypatch):
    data = _npz(tmp_path / "d.npz")

    def run(out):
        args = finetune.parse_args(["--model", "resnet18", "--weights", "none", "--data",
                                    str(data), "--image-size", "16", "--epochs", "2",
                                    "--batch-size", "8", "--quiet", "--out", str(out)])
        return finetune.train(args)

    in_memory = run(tmp_path / "a")
    monkeypatch.setattr(features, "MEMORY_BUDGET", 0)
    on_disk = run(tmp_path / "b")
    assert on_disk["cached_features"]
    assert on_disk["history"] == in_memory["history"]
    assert not [p for p in os.listdir(tmp_path / "b") if p.startswith(".features-")]


def test_packaged_weights_found_without_scanning_every_distribution():
    from nanotorch.models import _weights
    name = "mobilenet_v2-b0353104.pth"
    full = _weights._packaged_files().get(name)
    if full is None:
        pytest.skip("the package shipping the MobileNetV2 weights is not installed")
    assert _weights._known_package_file(name) == full
    assert _weights.find_weight_file(name) in (full,) + tuple(_weights._candidates(name))
    assert _weights._known_package_file("resnet18-f37072fd.pth") is None  # no known package


def test_extraction_batches_are_capped_by_pixels(monkeypatch):
    images = [_rng_u8((10, 10), i) for i in range(7)]
    source = Preprocessed(_Images(images), 16, True, eval_transform(16, True), _check_size)
    monkeypatch.setattr(features, "BATCH_PIXELS", 2 * 16 * 16 + 5)
    sizes = []
    out = features.extract(_model(), source, 128, progress=sizes.append)
    assert sizes == [2, 2, 2, 1] and len(out) == 7
