"""Device namespaces, global switches, legacy constructors and Variable, against torch's CPU
build where torch has the same behaviour."""
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn

torch = pytest.importorskip("torch")


def test_cuda_queries_answer_like_a_cpu_build():
    for name in ["is_available", "device_count", "is_initialized", "is_bf16_supported",
                 "memory_allocated", "max_memory_allocated", "empty_cache"]:
        assert getattr(nt.cuda, name)() == getattr(torch.cuda, name)(), name
    assert nt.cuda.is_available() is False and nt.cuda.device_count() == 0


def test_cuda_seeding_is_a_harmless_no_op():
    nt.manual_seed(5)
    before = nt.rand(3).numpy()
    nt.manual_seed(5)
    nt.cuda.manual_seed(123)
    nt.cuda.manual_seed_all(7)
    nt.cuda.seed()
    assert np.array_equal(nt.rand(3).numpy(), before)  # the CPU stream is untouched
    with pytest.raises(ValueError):
        nt.cuda.manual_seed("x")
    with pytest.raises(ValueError):
        torch.cuda.manual_seed("x")


@pytest.mark.parametrize("name,args", [("current_device", ()), ("get_device_name", ()),
                                       ("synchronize", ()), ("get_device_properties", (0,)),
                                       ("initial_seed", ()), ("get_rng_state", ())])
def test_cuda_calls_that_need_a_gpu_raise_like_torch(name, args):
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        getattr(torch.cuda, name)(*args)
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled.*CPU only"):
        getattr(nt.cuda, name)(*args)


def test_backends_flags():
    cudnn = nt.backends.cudnn
    for flag in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    assert cudnn.is_available() is False
    old = cudnn.benchmark, cudnn.deterministic
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert nt.backends.cudnn.benchmark is True and nt.backends.cudnn.deterministic is True
    finally:
        cudnn.benchmark, cudnn.deterministic = old
    assert nt.backends.mps.is_available() is False and nt.backends.mps.is_built() is False
    assert nt.backends.mkldnn.is_available() is False  # nanotorch does not use oneDNN
    matmul = nt.backends.cuda.matmul
    assert matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    matmul.allow_tf32 = True
    assert nt.backends.cuda.matmul.allow_tf32 is True
    matmul.allow_tf32 = False


def test_accelerator():
    assert nt.accelerator.is_available() is torch.accelerator.is_available() is False
    assert nt.accelerator.current_accelerator() is None
    assert nt.accelerator.device_count() == 0


def test_device_objects_are_constructible():
    for spec in ["cpu", "cuda", "cuda:1", "mps", "meta", "cpu:0"]:
        ours, ref = nt.device(spec), torch.device(spec)
        assert (ours.type, ours.index, str(ours), repr(ours)) == (ref.type, ref.index,
                                                                   str(ref), repr(ref))
    assert nt.device("cuda", 2) == nt.device("cuda:2") != nt.device("cuda")
    assert nt.device(nt.device("mps")).type == "mps"
    assert nt.zeros(1).device == nt.device("cpu") and nt.zeros(1).device == "cpu"
    dev = nt.device("cuda" if nt.cuda.is_available() else "cpu")
    assert nt.zeros(2).to(dev).device.type == "cpu"
    for bad in ["tpu", "cuda:x", "cuda:-1"]:
        with pytest.raises(RuntimeError) as ref:
            torch.device(bad)
        with pytest.raises(RuntimeError) as ours:
            nt.device(bad)
        assert str(ours.value) == str(ref.value)
    with pytest.raises(RuntimeError, match="Device index must not be negative"):
        nt.device("cuda", -1)


def test_putting_data_on_a_gpu_fails_with_the_clear_error():
    msg = "nanotorch runs on the CPU only; device 'cuda' is not available"
    gpu = nt.device("cuda")
    x = nt.ones(2)
    for put in [lambda: x.to(gpu), lambda: x.to("cuda"), lambda: x.cuda(),
                lambda: x.to(device="cuda"), lambda: nn.Linear(2, 2).to(gpu),
                lambda: nn.Linear(2, 2).cuda(), lambda: nn.Linear(2, 2).to(device=gpu)]:
        with pytest.raises(RuntimeError, match=msg):
            put()
    with pytest.raises(RuntimeError, match="device 'mps' is not available"):
        x.to("mps")
    assert x.to("cpu") is x and x.to(nt.device("cpu:0")) is x


def test_deterministic_and_matmul_precision_switches():
    assert nt.are_deterministic_algorithms_enabled() is False
    try:
        nt.use_deterministic_algorithms(True, warn_only=True)
        assert nt.are_deterministic_algorithms_enabled() is True
        assert nt.is_deterministic_algorithms_warn_only_enabled() is True
    finally:
        nt.use_deterministic_algorithms(False)
    assert nt.are_deterministic_algorithms_enabled() is False
    with pytest.raises(TypeError) as ref:
        torch.use_deterministic_algorithms("yes")
    with pytest.raises(TypeError) as ours:
        nt.use_deterministic_algorithms("yes")
    assert str(ours.value) == str(ref.value)

    assert nt.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    try:
        nt.set_float32_matmul_precision("high")
        assert nt.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="has no effect"):
            nt.set_float32_matmul_precision("fastest")
        assert nt.get_float32_matmul_precision() == "high"
    finally:
        nt.set_float32_matmul_precision("highest")


def test_compile_returns_the_model_unchanged():
    model = nn.Linear(3, 2)
    assert nt.compile(model) is model
    assert nt.compile(model, mode="max-autotune", fullgraph=True) is model

    def fn(x):
        return x * 2

    assert nt.compile(fn) is fn
    assert nt.compile(mode="reduce-overhead")(fn) is fn
    assert "no-op" in nt.compile.__doc__.lower()
    with pytest.raises(RuntimeError, match="must be a callable"):
        nt.compile(3)


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "ByteTensor", "HalfTensor", "ShortTensor",
                                  "CharTensor"])
def test_legacy_constructors_match_torch(name):
    ours_t, ref_t = getattr(nt, name), getattr(torch, name)
    for args in [(2, 3), (4,), (nt.Size([2, 2]),)]:
        ours = ours_t(*args)
        ref = ref_t(*[torch.Size(a) if isinstance(a, tuple) else a for a in args])
        assert tuple(ours.shape) == tuple(ref.shape)
        assert str(ours.dtype) == str(ref.dtype)
        assert not ours.numpy().any()  # deterministic: zero-filled
    data = [[1, 0], [3, 1]]
    ours, ref = ours_t(data), ref_t(data)
    assert str(ours.dtype) == str(ref.dtype)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert tuple(ours_t().shape) == tuple(ref_t().shape) == (0,)
    assert isinstance(ours, ours_t)
    others = [n for n in ("FloatTensor", "LongTensor") if n != name]
    assert not isinstance(ours, getattr(nt, others[0]))


def test_legacy_isinstance_and_errors():
    assert isinstance(nt.zeros(2), nt.FloatTensor)
    assert isinstance(nt.zeros(2, dtype=nt.float64), nt.DoubleTensor)
    assert not isinstance(nt.zeros(2, dtype=nt.float64), nt.FloatTensor)
    assert not isinstance(np.zeros(2, dtype=np.float32), nt.FloatTensor)
    assert nt.LongTensor([1.7, 2.2]).numpy().tolist() == [1, 2]
    x = nt.tensor([1.0, 2.0])
    alias = nt.FloatTensor(x)
    alias[0] = 5.0
    assert x[0].item() == 5.0  # shares x's data, as in torch
    with pytest.raises(TypeError, match="expected a tensor of dtype"):
        nt.FloatTensor(nt.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        nt.FloatTensor(-1)
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        nt.FloatTensor("a")
    with pytest.raises(RuntimeError, match="CPU only"):
        nt.FloatTensor(2, device="cuda")


def test_variable_like_torch():
    from nanotorch.autograd import Variable
    a = nt.ones(2)
    v = Variable(a, requires_grad=True)
    assert v is not a and v.requires_grad and v.is_leaf and not a.requires_grad
    v.detach()[0] = 3.0
    assert a[0].item() == 3.0  # shares a's data
    assert isinstance(a, Variable) and not isinstance(3.0, Variable)
    b = (v * 2)
    w = Variable(b)
    assert w.grad_fn is None and not w.requires_grad
    (v * v).sum().backward()
    assert v.grad.numpy().tolist() == [6.0, 2.0]
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.autograd import Variable as TV
    assert TV(torch.ones(2)).requires_grad is Variable(nt.ones(2)).requires_grad is False


@pytest.mark.parametrize("make", [
    lambda d: nt.zeros(2, device=d), lambda d: nt.ones(2, device=d),
    lambda d: nt.empty(2, device=d), lambda d: nt.full((2,), 1.0, device=d),
    lambda d: nt.tensor([1.0], device=d), lambda d: nt.as_tensor([1.0], device=d),
    lambda d: nt.arange(3, device=d), lambda d: nt.linspace(0, 1, 3, device=d),
    lambda d: nt.eye(2, device=d), lambda d: nt.rand(2, device=d),
    lambda d: nt.randn(2, device=d), lambda d: nt.randint(0, 3, (2,), device=d),
    lambda d: nt.randperm(3, device=d), lambda d: nt.zeros_like(nt.ones(2), device=d),
    lambda d: nt.rand_like(nt.ones(2), device=d),
])
def test_creation_refuses_a_non_cpu_device(make):
    assert make("cpu").device.type == "cpu"
    assert make(nt.device("cpu")).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only; device 'cuda' is not available"):
        make("cuda")
