"""Transfer learning in the style of PyTorch's fine-tuning tutorial: a backbone trained on a
source task stands in for pretrained weights; a new model loads them, freezes the backbone
with requires_grad, trains a new head, then unfreezes the last block at a lower learning
rate (parameter groups and a scheduler)."""
import io

import torch
from torch import nn

torch.manual_seed(7)


def backbone():
    # no conv bias before batch norm: its gradient is zero up to rounding, and Adam would
    # turn that rounding noise into full-size steps
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


def images(n, classes, shift):
    """Colour-and-texture classes; ``shift`` makes the target task a related one."""
    y = torch.randint(0, classes, (n,))
    x = 1.5 * torch.randn(n, 3, 8, 8)
    for c in range(classes):
        sel = y == c
        x[sel, c % 3] += 0.3 + shift
        x[sel, :, :, c % 4::4] += 0.3
    return x, y


# 1. "pretraining" on a 6-class source task
source = nn.Sequential(backbone(), nn.Linear(12, 6))
xs, ys = images(96, 6, 0.0)
opt = torch.optim.SGD(source.parameters(), lr=0.1, momentum=0.9)
for _ in range(15):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(source(xs), ys)
    loss.backward()
    opt.step()
print(f"source loss: {loss.item():.5f}")
buffer = io.BytesIO()
torch.save(source[0].state_dict(), buffer)
buffer.seek(0)

# 2. a new model: the pretrained backbone, frozen, and a new 3-class head
model = nn.Sequential(backbone(), nn.Linear(12, 3))
print("load:", model[0].load_state_dict(torch.load(buffer, weights_only=True)))
for param in model[0].parameters():
    param.requires_grad = False
model[0].eval()  # frozen batch norms keep the source statistics
trainable = [n for n, p in model.named_parameters() if p.requires_grad]
print("trainable:", trainable)
print("frozen count:", sum(p.numel() for p in model.parameters() if not p.requires_grad))

xt, yt = images(64, 3, 0.3)
xv, yv = images(48, 3, 0.3)
before = model[0][0].weight.clone()
optimizer = torch.optim.SGD(model[1].parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
for epoch in range(10):
    model[1].train()
    for i in range(0, 64, 16):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xt[i:i + 16]), yt[i:i + 16])
        loss.backward()
        optimizer.step()
    scheduler.step()
    if epoch % 3 == 2:
        with torch.no_grad():
            acc = (model(xv).argmax(1) == yv).float().mean().item()
        print(f"head epoch {epoch + 1}: loss {loss.item():.5f} val acc {acc:.4f} "
              f"lr {scheduler.get_last_lr()[0]:.4f}")
print("backbone unchanged:", torch.equal(before, model[0][0].weight))
print("backbone grads:", all(p.grad is None for p in model[0].parameters()))

# 3. unfreeze the last conv block with a smaller learning rate
for param in model[0][4:].parameters():
    param.requires_grad_(True)
model[0][4:].train()
optimizer = torch.optim.Adam([
    {"params": model[0][4:].parameters(), "lr": 1e-3},
    {"params": model[1].parameters()},
], lr=5e-3)
for epoch in range(6):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(xt), yt)
    loss.backward()
    optimizer.step()
    print(f"fine-tune step {epoch + 1}: {loss.item():.5f}")
print("group lrs:", [g["lr"] for g in optimizer.param_groups])
model.eval()
with torch.no_grad():
    print("final val acc:", (model(xv).argmax(1) == yv).float().mean())
print("first block still frozen:", torch.equal(before, model[0][0].weight))
