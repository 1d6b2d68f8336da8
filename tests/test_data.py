"""nanotorch.utils.data: datasets, samplers, DataLoader and collation (vs torch where
deterministic)."""
import collections
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.tensor import Tensor
from nanotorch.utils import data as D

torch = pytest.importorskip("torch")
TD = torch.utils.data

Point = collections.namedtuple("Point", ["x", "y"])


def _same(ours, ref):
    """Recursively compare a nanotorch collated structure with torch's."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, Tensor), type(ours)
        assert str(ours.dtype) == str(ref.dtype)
        assert list(ours.shape) == list(ref.shape)
        np.testing.assert_array_equal(ours.detach().numpy(), ref.detach().numpy())
    elif isinstance(ref, dict):
        assert type(ours) is type(ref) and list(ours) == list(ref)
        for k in ref:
            _same(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b)
    else:
        assert ours == ref


def _xy(n=10, dtype=np.float32):
    x = np.arange(n * 3, dtype=dtype).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


class _Plain(D.Dataset):
    """The same samples as a TensorDataset, through the generic per-index path."""

    def __init__(self, *tensors):
        self.tensors = tensors

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


def test_tensor_dataset():
    x, y = _xy()
    ds = D.TensorDataset(nt.tensor(x), nt.tensor(y))
    assert len(ds) == 10
    a, b = ds[4]
    assert a.tolist() == x[4].tolist() and b.item() == 4
    with pytest.raises(ValueError, match=r"Size mismatch between tensors.*\[10, 9\]"):
        D.TensorDataset(nt.tensor(x), nt.tensor(y[:9]))
    with pytest.raises(AssertionError):  # what PyTorch raises
        D.TensorDataset(nt.tensor(x), nt.tensor(y[:9]))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (5, True),
                                                  (16, False), (16, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    x, y = _xy()
    ours = D.DataLoader(D.TensorDataset(nt.tensor(x), nt.tensor(y)), batch_size=batch_size,
                        drop_last=drop_last)
    ref = TD.DataLoader(TD.TensorDataset(torch.tensor(x), torch.tensor(y)),
                        batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(ref)
    got, want = list(ours), list(ref)
    assert len(got) == len(want) == len(ours)
    for a, b in zip(got, want):
        _same(a, b)


def test_fast_path_equals_generic_path():
    x, y = _xy(23)
    tensors = (nt.tensor(x), nt.tensor(y))
    for ds_fast, ds_slow in [(D.TensorDataset(*tensors), _Plain(*tensors)),
                             (D.Subset(D.TensorDataset(*tensors), [5, 1, 22, 7, 0, 3, 3]),
                              D.Subset(_Plain(*tensors), [5, 1, 22, 7, 0, 3, 3]))]:
        for a, b in zip(D.DataLoader(ds_fast, batch_size=4), D.DataLoader(ds_slow, batch_size=4)):
            assert isinstance(a, list) and len(a) == 2
            for u, v in zip(a, b):
                assert u.dtype == v.dtype and u.shape == v.shape
                np.testing.assert_array_equal(u.numpy(), v.numpy())


def _epoch(loader):
    return [int(v) for batch in loader for v in batch[1].tolist()]


def test_shuffle_every_sample_once_and_reproducible():
    x, y = _xy(37)
    loader = D.DataLoader(D.TensorDataset(nt.tensor(x), nt.tensor(y)), batch_size=5,
                          shuffle=True)
    nt.manual_seed(123)
    e1, e2 = _epoch(loader), _epoch(loader)
    assert sorted(e1) == sorted(e2) == list(range(37))
    assert e1 != list(range(37)) and e1 != e2  # a new order every epoch
    nt.manual_seed(123)
    assert _epoch(loader) == e1 and _epoch(loader) == e2
    for batch in loader:  # rows stay aligned with labels
        np.testing.assert_array_equal(batch[0].numpy(), x[batch[1].numpy()])


def test_shuffle_with_generator_leaves_global_stream_alone():
    x, y = _xy(20)
    ds = D.TensorDataset(nt.tensor(x), nt.tensor(y))
    g = nt.Generator().manual_seed(7)
    loader = D.DataLoader(ds, batch_size=6, shuffle=True, generator=g)
    nt.manual_seed(0)
    first = _epoch(loader)
    after = nt.rand(3).tolist()
    nt.manual_seed(0)
    assert nt.rand(3).tolist() == after  # the loader drew nothing from the global generator
    g.manual_seed(7)
    assert _epoch(loader) == first and sorted(first) == list(range(20))


def test_drop_last_and_len():
    x, y = _xy(10)
    ds = D.TensorDataset(nt.tensor(x), nt.tensor(y))
    nt.manual_seed(1)
    loader = D.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert all(b[0].shape == (4, 3) for b in batches)
    assert len(set(_epoch(loader))) == 8
    assert len(D.DataLoader(ds, batch_size=4)) == 3
    assert len(D.DataLoader(ds, batch_size=None)) == 10


def test_sampler_and_batch_sampler_arguments():
    x, y = _xy(12)
    ds = D.TensorDataset(nt.tensor(x), nt.tensor(y))
    loader = D.DataLoader(ds, batch_size=2, sampler=[11, 3, 5, 0, 7])
    assert [b[1].tolist() for b in loader] == [[11, 3], [5, 0], [7]] and len(loader) == 3
    g = nt.Generator().manual_seed(3)
    sub = D.SubsetRandomSampler([1, 4, 9, 10], generator=g)
    picked = _epoch(D.DataLoader(ds, batch_size=3, sampler=sub))
    assert sorted(picked) == [1, 4, 9, 10]
    g.manual_seed(3)
    assert _epoch(D.DataLoader(ds, batch_size=3, sampler=sub)) == picked
    batches = [[0, 1], [5, 6, 7], [2]]
    loader = D.DataLoader(ds, batch_sampler=batches)
    assert [b[1].tolist() for b in loader] == batches and len(loader) == 3
    bs = D.BatchSampler(D.SequentialSampler(range(7)), batch_size=3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = D.BatchSampler(D.SequentialSampler(range(7)), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    ref = TD.BatchSampler(TD.RandomSampler(range(7)), batch_size=3, drop_last=True)
    assert len(ref) == len(D.BatchSampler(D.RandomSampler(range(7)), 3, True))


@pytest.mark.parametrize("kwargs,msg", [
    (dict(batch_sampler=[[0]], batch_size=2), "mutually exclusive with batch_size"),
    (dict(batch_sampler=[[0]], shuffle=True), "mutually exclusive with batch_size"),
    (dict(batch_sampler=[[0]], drop_last=True), "mutually exclusive with batch_size"),
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_size=None, drop_last=True), "disables auto-batching"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
])
def test_loader_argument_errors_match_torch(kwargs, msg):
    x, y = _xy(4)
    with pytest.raises(ValueError, match=msg):
        TD.DataLoader(TD.TensorDataset(torch.tensor(x)), **kwargs)
    with pytest.raises(ValueError, match=msg):
        D.DataLoader(D.TensorDataset(nt.tensor(x)), **kwargs)


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        D.BatchSampler(range(3), batch_size=0, drop_last=False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        D.BatchSampler(range(3), batch_size=1, drop_last=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        D.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        D.RandomSampler(range(3), replacement=1)
    loader = D.DataLoader(D.TensorDataset(nt.zeros(3)))
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 2


def test_random_sampler_options():
    nt.manual_seed(0)
    s = D.RandomSampler(range(5), replacement=True, num_samples=50)
    draws = list(s)
    assert len(s) == len(draws) == 50 and set(draws) <= set(range(5)) and len(set(draws)) > 1
    s = D.RandomSampler(range(5), num_samples=12)
    draws = list(s)
    assert len(draws) == 12 and sorted(draws[:10]) == sorted(list(range(5)) * 2)


COLLATE_CASES = [
    [(1, 2.5, "a"), (2, 3.5, "b")],
    [{"img": np.ones((2, 2), np.float32), "label": 3}, {"img": np.zeros((2, 2), np.float32),
                                                         "label": 4}],
    [Point(np.int32(1), np.float32(0.5)), Point(np.int32(2), np.float32(1.5))],
    [[np.arange(3, dtype=np.int64), True], [np.arange(3, 6, dtype=np.int64), False]],
    [np.float64(1.5), np.float64(2.0)],
    [np.array(3.0, np.float32), np.array(4.0, np.float32)],
    ["x", "y", "z"],
    [{"a": {"b": (1.0, [2, 3])}}, {"a": {"b": (4.0, [5, 6])}}],
]


@pytest.mark.parametrize("batch", COLLATE_CASES, ids=range(len(COLLATE_CASES)))
def test_default_collate_matches_torch(batch):
    ref = TD.default_collate(batch)
    ours = D.default_collate(batch)
    _same(ours, ref)
    # tensors in, tensors stacked
    t_batch = [nt.tensor(np.full((2,), i, np.float32)) for i in range(3)]
    out = D.default_collate(t_batch)
    assert out.shape == (3, 2) and out.dtype == nt.float32


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        D.default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        D.default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        D.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        D.default_collate([nt.zeros(2), nt.zeros(3)])


def test_collate_of_dataset_dicts_through_loader():
    class Dicts(D.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full((2,), i, np.float32), "i": i, "name": f"s{i}"}

    batches = list(D.DataLoader(Dicts(), batch_size=2))
    assert len(batches) == 3
    assert batches[0]["x"].dtype == nt.float32 and batches[0]["x"].shape == (2, 2)
    assert batches[1]["i"].dtype == nt.int64 and batches[1]["i"].tolist() == [2, 3]
    assert batches[2]["name"] == ["s4"]
    custom = list(D.DataLoader(Dicts(), batch_size=2, collate_fn=lambda b: len(b)))
    assert custom == [2, 2, 1]
    single = list(D.DataLoader(Dicts(), batch_size=None))  # default_convert per sample
    assert len(single) == 5 and isinstance(single[0]["x"], Tensor) and single[0]["i"] == 0


def test_num_workers_in_process_same_batches():
    x, y = _xy(11)
    ds = D.TensorDataset(nt.tensor(x), nt.tensor(y))
    a = [b[1].tolist() for b in D.DataLoader(ds, batch_size=3, num_workers=0)]
    b = [b[1].tolist() for b in D.DataLoader(ds, batch_size=3, num_workers=2,
                                             persistent_workers=True, prefetch_factor=2)]
    assert a == b
    assert D.get_worker_info() is None


def test_random_split():
    ds = D.TensorDataset(nt.arange(10))
    parts = D.random_split(ds, [3, 7], generator=nt.Generator().manual_seed(42))
    assert [len(p) for p in parts] == [3, 7]
    idx = [i for p in parts for i in p.indices]
    assert sorted(idx) == list(range(10))
    again = D.random_split(ds, [3, 7], generator=nt.Generator().manual_seed(42))
    assert [p.indices for p in again] == [p.indices for p in parts]
    other = D.random_split(ds, [3, 7], generator=nt.Generator().manual_seed(43))
    assert [p.indices for p in other] != [p.indices for p in parts]
    assert parts[0][1][0].item() == parts[0].indices[1]
    nt.manual_seed(5)
    a = D.random_split(ds, [5, 5])
    nt.manual_seed(5)
    assert [p.indices for p in D.random_split(ds, [5, 5])] == [p.indices for p in a]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        D.random_split(ds, [3, 8])


@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.7]), (10, [0.33, 0.33, 0.34]),
                                     (7, [0.5, 0.5]), (3, [0.1, 0.1, 0.8]), (101, [0.8, 0.2])])
def test_random_split_fraction_sizes_match_torch(n, fracs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = [len(p) for p in TD.random_split(range(n), fracs)]
        ours = D.random_split(list(range(n)), fracs)
    assert [len(p) for p in ours] == ref
    assert sorted(i for p in ours for i in p.indices) == list(range(n))


def test_subset_concat_and_iterable():
    a, b = D.TensorDataset(nt.arange(3)), D.TensorDataset(nt.arange(10, 14))
    cat = a + b
    assert isinstance(cat, D.ConcatDataset) and len(cat) == 7
    assert [cat[i][0].item() for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert cat[-1][0].item() == 13 and cat.cumulative_sizes == [3, 7]
    with pytest.raises(IndexError):
        cat[7]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        cat[-8]
    assert [v[0].tolist() for v in D.DataLoader(cat, batch_size=4)] == [[0, 1, 2, 10],
                                                                         [11, 12, 13]]
    sub = D.Subset(cat, [6, 0])
    assert len(sub) == 2 and sub[0][0].item() == 13

    class Stream(D.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    loader = D.DataLoader(Stream(), batch_size=3)
    assert [t.tolist() for t in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = D.DataLoader(Stream(), batch_size=3, drop_last=True)
    assert [t.tolist() for t in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        D.DataLoader(Stream(), shuffle=True)


def test_exported_names():
    for name in ["DataLoader", "Dataset", "IterableDataset", "TensorDataset", "Subset",
                 "ConcatDataset", "random_split", "Sampler", "SequentialSampler",
                 "RandomSampler", "SubsetRandomSampler", "BatchSampler", "default_collate"]:
        assert name in D.__all__ and hasattr(D, name)
