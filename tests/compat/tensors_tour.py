"""A tour of tensors in the style of PyTorch's "Tensors" tutorial: creation, attributes,
indexing, joining, views, in-place ops, dtypes and how tensors print."""
import numpy as np
import torch

torch.manual_seed(42)

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print("from data:\n", x_data)
print("from numpy:\n", x_np)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_rand = torch.rand_like(x_data, dtype=torch.float)
print(f"Random Tensor: \n {x_rand} \n")

shape = (2, 3,)
print(f"Random Tensor: \n {torch.rand(shape)} \n")
print(f"Ones Tensor: \n {torch.ones(shape)} \n")
print(f"Zeros Tensor: \n {torch.zeros(shape)}")
print("randn:", torch.randn(2, 4))
print("randint:", torch.randint(0, 10, (3, 5)))
print("randperm:", torch.randperm(8))
print("normal:", torch.normal(2.0, 3.0, size=(4,)))
print("arange:", torch.arange(0, 10, 3), torch.arange(0.0, 1.0, 0.25))
print("linspace:", torch.linspace(0, 1, steps=5))
print("full:", torch.full((2, 2), 7.5), torch.eye(3))
print("empty shape:", torch.empty(3, 2).shape)

tensor = torch.rand(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
print("dim/numel/size:", tensor.dim(), tensor.numel(), tensor.size(), tensor.size(1))

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
print("stack:", torch.stack([torch.arange(3), torch.arange(3, 6)]).shape)
print(torch.stack([torch.arange(3), torch.arange(3, 6)], dim=1))

y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
print("matmul:", y1, (y1 == y2).all(), torch.equal(y1, y2))
z1 = tensor * tensor
z2 = tensor.mul(tensor)
print("elementwise:", z1, torch.equal(z1, z2))

agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(f"{tensor} \n")
tensor.add_(5)
print(tensor)

# NumPy bridge: shared memory
t = torch.ones(5)
n = t.numpy()
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")

# indexing and slicing
a = torch.arange(24).reshape(2, 3, 4)
print("a[1, :, ::2]:", a[1, :, ::2])
print("a[:, -1]:", a[:, -1])
print("bool mask:", a[a % 5 == 0])
print("index list:", a[0, [0, 2]])
print("index_select:", torch.index_select(a, 2, torch.tensor([0, 3])))
print("gather:", torch.gather(a[0], 1, torch.tensor([[0, 1], [2, 3], [1, 1]])))
print("where:", torch.where(a[0] > 5, a[0], -a[0]))
print("masked_fill:", a[1].masked_fill(a[1] > 20, 0))

# views share storage with their base
base = torch.arange(12.0)
v = base.view(3, 4)
v[0, 0] = 100.0
print("base after view write:", base)
print("transpose contiguous:", v.t().is_contiguous(), v.t().contiguous().is_contiguous())
print("permute:", a.permute(2, 0, 1).shape, "unsqueeze:", base.unsqueeze(0).shape)
print("flatten:", a.flatten(1).shape, "squeeze:", torch.zeros(1, 3, 1).squeeze().shape)
print("chunk:", [c.shape for c in torch.chunk(base, 3)], "split:", torch.split(base, 5))
print("expand:", torch.tensor([[1], [2]]).expand(2, 3))
print("repeat:", torch.tensor([1, 2]).repeat(2, 2))

# in-place ops
c = torch.zeros(2, 3)
c.fill_(2.5)
c.mul_(2).sub_(1)
c.clamp_(max=3.0)
print("in-place:", c)
c.zero_()
print("zeroed:", c)

# dtype conversions and promotion
i = torch.tensor([1, 2, 3])
f = torch.tensor([0.5, 1.5, 2.5])
print(i.dtype, f.dtype, (i * f).dtype, (i / 2).dtype, (i > 1).dtype)
print("to float:", i.float(), i.to(torch.float64), f.long(), f.int(), f.to(torch.int32))
print("double:", f.double(), "half:", f.half(), "bool:", i.bool())
print("type_as:", i.type_as(f), "dtype of half:", f.half().dtype)
print("bool arithmetic:", torch.tensor([True, False]).sum())

# printing
print(torch.tensor(3.14159))
print(torch.tensor([1e-8, 1.0, 1e8]))
print(torch.tensor([0.1, 2.0, -3.333333]))
print(torch.randn(2, 3, dtype=torch.float64))
print(torch.arange(0, 2000).reshape(2, 1000))
print(torch.zeros(2, 0))
print(torch.tensor([float("inf"), float("nan"), -1.5]))
print(torch.tensor([[1.0, 2.0]], requires_grad=True) * 2)
print(repr(torch.tensor([1, 2], dtype=torch.int16)))
torch.set_printoptions(precision=2)
print(torch.tensor([1.23456, 7.891011]))
torch.set_printoptions(precision=4)
print("statistics:", a.float().mean(), a.float().std(), a.max(), a.argmin(), a.sum(dim=1))
print("sort:", torch.sort(torch.tensor([3.0, 1.0, 2.0]), descending=True))
print("topk:", torch.topk(torch.tensor([3.0, 1.0, 4.0, 1.5]), 2))
