"""Extending autograd with a custom ``torch.autograd.Function``, in the style of PyTorch's
"Defining new autograd functions" examples: a smooth clipped activation and a
straight-through rounding, each with a hand-written backward, used to fit a small model."""
import torch


class SoftClip(torch.autograd.Function):
    """bound * tanh(x / bound): forward saves what backward needs, a non-tensor argument
    gets no gradient (None)."""

    @staticmethod
    def forward(ctx, x, bound):
        y = torch.tanh(x / bound)
        ctx.save_for_backward(y)
        ctx.bound = bound
        return bound * y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (1 - y * y), None


class RoundSTE(torch.autograd.Function):
    """Rounds to a grid of ``step`` in the forward pass; the gradient passes straight through."""

    @staticmethod
    def forward(ctx, x, step):
        return torch.round(x / step) * step

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.clone(), None


torch.manual_seed(3)
x = torch.randn(6, requires_grad=True)
y = SoftClip.apply(x, 1.5)
print("soft clip:", y)
print("grad_fn name:", type(y.grad_fn).__name__)
y.sum().backward()
print("grad:", x.grad)
# the same derivative written with built-in ops
x2 = x.detach().clone().requires_grad_(True)
(1.5 * torch.tanh(x2 / 1.5)).sum().backward()
print("matches built-in:", torch.allclose(x.grad, x2.grad))

q = RoundSTE.apply(x, 0.25)
print("rounded:", q)
(q * torch.arange(6.0)).sum().backward()
print("straight-through grad:", x.grad)


class QuantizedLinear(torch.nn.Module):
    """A linear layer whose weights pass through RoundSTE and outputs through SoftClip."""

    def __init__(self, n_in, n_out, step):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)
        self.step = step

    def forward(self, inputs):
        w = RoundSTE.apply(self.linear.weight, self.step)
        return SoftClip.apply(inputs @ w.t() + self.linear.bias, 3.0)


torch.manual_seed(0)
inputs = torch.randn(64, 5)
target = (inputs[:, :2].sum(1, keepdim=True) - inputs[:, 4:]).clamp(-2.5, 2.5)
model = QuantizedLinear(5, 1, step=0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(60):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(inputs), target)
    loss.backward()
    optimizer.step()
    if step % 10 == 9:
        print(f"step {step + 1:2d} loss {loss.item():.6f}")
print("quantized weights:", RoundSTE.apply(model.linear.weight, 0.05).detach())

# a function with two outputs, one of them not differentiable
class SortWithIndex(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values):
        out, idx = torch.sort(values)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return out, idx

    @staticmethod
    def backward(ctx, grad_out, grad_idx):
        (idx,) = ctx.saved_tensors
        grad = torch.zeros_like(grad_out)
        grad[idx] = grad_out
        return grad


v = torch.tensor([3.0, -1.0, 2.0, 0.5], requires_grad=True)
s, i = SortWithIndex.apply(v)
print("sorted:", s, "indices:", i, "idx requires grad:", i.requires_grad)
(s * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
print("grad through the sort:", v.grad)
