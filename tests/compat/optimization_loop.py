"""The training and test loops of PyTorch's "Optimizing model parameters" tutorial, on a
seeded synthetic data set (a noisy linear rule over 64 features, 4 classes)."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
features, classes = 64, 4
rule = torch.randn(features, classes)
X_train = torch.randn(512, features)
y_train = (X_train @ rule + 0.5 * torch.randn(512, classes)).argmax(1)
X_test = torch.randn(128, features)
y_test = (X_test @ rule).argmax(1)
training_data = TensorDataset(X_train, y_train)
test_data = TensorDataset(X_test, y_test)

learning_rate = 1e-2
batch_size = 32
epochs = 4

train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(features, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, classes),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 5 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


loss_fn = nn.CrossEntropyLoss()
for name in ("SGD", "Adam"):
    torch.manual_seed(1)
    model = NeuralNetwork()
    if name == "SGD":
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate * 10, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    print(f"== {name}")
    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)
    print("optimizer state keys:", sorted(optimizer.state_dict()["param_groups"][0].keys()))
print("Done!")
