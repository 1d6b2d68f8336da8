"""Autograd basics in the style of PyTorch's "Automatic differentiation" tutorial."""
import torch

torch.manual_seed(0)

# a one-layer network: the gradient of a binary cross-entropy loss
x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print("z:", z)
print("loss:", loss)
print("grad_fn for z =", z.grad_fn)
print("grad_fn for loss =", loss.grad_fn)
print("is_leaf:", w.is_leaf, z.is_leaf, "requires_grad:", z.requires_grad)
loss.backward()
print("w.grad:", w.grad)
print("b.grad:", b.grad)

# gradients accumulate until they are zeroed
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print("first call\n", inp.grad)
out.backward(torch.ones_like(out), retain_graph=True)
print("second call\n", inp.grad)
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print("call after zeroing gradients\n", inp.grad)

# switching tracking off
z = torch.matmul(x, w) + b
print("tracked:", z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print("under no_grad:", z.requires_grad)
z_det = (torch.matmul(x, w) + b).detach()
print("detached:", z_det.requires_grad)

# gradient of an intermediate value
a = torch.tensor([2.0, 3.0], requires_grad=True)
h = a * a
h.retain_grad()
s = (h * torch.tensor([1.0, -1.0])).sum()
s.backward()
print("a.grad:", a.grad, "h.grad:", h.grad)

# torch.autograd.grad and higher-order derivatives of x**3 - 2x
t = torch.linspace(-1.0, 1.0, 5, requires_grad=True)
f = (t ** 3 - 2 * t).sum()
(df,) = torch.autograd.grad(f, t, create_graph=True)
(d2f,) = torch.autograd.grad(df.sum(), t, create_graph=True)
(d3f,) = torch.autograd.grad(d2f.sum(), t)
print("df/dt:", df)
print("d2f/dt2:", d2f)
print("d3f/dt3:", d3f)

# Jacobian-vector product with an explicit gradient argument
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
q = torch.randn(3, requires_grad=True)
r = q * 2
while r.data.norm() < 1000:
    r = r * 2
r.backward(v)
print("q.grad:", q.grad)

# a hand-written SGD step outside the graph
with torch.no_grad():
    w -= 0.1 * w.grad
    b -= 0.1 * b.grad
w.grad = None
b.grad.zero_()
loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y)
print(f"loss after one step: {loss.item():.6f}")
