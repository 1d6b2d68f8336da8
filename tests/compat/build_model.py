"""Building a model in the style of PyTorch's "Build the neural network" tutorial."""
import torch
from torch import nn

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 64),
            nn.ReLU(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

X = torch.rand(1, 28, 28, device=device)
logits = model(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")
print("logits:", logits)

input_image = torch.rand(3, 28, 28)
print(input_image.size())
flat_image = nn.Flatten()(input_image)
print(flat_image.size())
layer1 = nn.Linear(in_features=28 * 28, out_features=20)
hidden1 = layer1(flat_image)
print(hidden1.size())
print(f"Before ReLU: {hidden1}\n\n")
hidden1 = nn.ReLU()(hidden1)
print(f"After ReLU: {hidden1}")

seq_modules = nn.Sequential(nn.Flatten(), layer1, nn.ReLU(), nn.Linear(20, 10))
logits = seq_modules(input_image)
print("softmax:", nn.Softmax(dim=1)(logits).sum(1))

print(f"Model structure: {model}\n\n")
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")

total = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("parameters:", total, "trainable:", trainable)
print("state_dict keys:", list(model.state_dict().keys()))
print("children:", [type(m).__name__ for m in model.children()])
print("modules:", [name for name, _ in model.named_modules()])


class Residual(nn.Module):
    """A block with a buffer, a ModuleList and a ModuleDict."""

    def __init__(self, width):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(2)])
        self.norms = nn.ModuleDict({"pre": nn.LayerNorm(width), "post": nn.BatchNorm1d(width)})
        self.register_buffer("scale", torch.tensor(0.5))
        self.act = nn.GELU()

    def forward(self, x):
        h = self.norms["pre"](x)
        for layer in self.layers:
            h = self.act(layer(h))
        return self.norms["post"](x + self.scale * h)


block = Residual(6)
print(block)
print("buffers:", [name for name, _ in block.named_buffers()])
print("state_dict:", {k: tuple(v.shape) for k, v in block.state_dict().items()})
out = block(torch.randn(4, 6))
print("train out:", out)
block.eval()
print("training flags:", block.training, block.norms["post"].training)
print("eval out:", block(torch.randn(4, 6)))
print("running_mean:", block.norms["post"].running_mean)

copy = Residual(6)
result = copy.load_state_dict(block.state_dict())
print("load_state_dict:", result)
copy.eval()
x = torch.randn(2, 6)
print("same outputs:", torch.allclose(copy(x), block(x)))
block.requires_grad_(False)
print("after requires_grad_(False):", sum(p.requires_grad for p in block.parameters()))
model.zero_grad()
print("apply init:", model.apply(lambda m: None) is model)
