"""A small convolutional classifier on synthetic images, in the style of PyTorch's
"Training a classifier" tutorial: seeded data, DataLoader with shuffle, dropout, several
epochs, per-class accuracy."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
classes = ("stripes", "columns", "blob")
size = 12


def make_images(n):
    """Horizontal stripes, vertical stripes or a bright square, on noise."""
    labels = torch.randint(0, 3, (n,))
    images = 0.4 * torch.randn(n, 1, size, size)
    offsets = torch.randint(0, 4, (n,))
    for k in range(n):
        o = int(offsets[k])
        if labels[k] == 0:
            images[k, 0, o::4, :] += 1.0
        elif labels[k] == 1:
            images[k, 0, :, o::4] += 1.0
        else:
            images[k, 0, 2 + o:6 + o, 2 + o:6 + o] += 1.5
    return images, labels


train_x, train_y = make_images(192)
test_x, test_y = make_images(96)
trainloader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)
testloader = DataLoader(TensorDataset(test_x, test_y), batch_size=32, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 2 * 2, 24)
        self.fc2 = nn.Linear(24, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)


net = Net()
print(net)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

for epoch in range(4):
    net.train()
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(trainloader):
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 4 == 3:
            print(f"[{epoch + 1}, {i + 1:3d}] loss: {running_loss / 4:.5f}")
            running_loss = 0.0

net.eval()
correct_pred = {name: 0 for name in classes}
total_pred = {name: 0 for name in classes}
with torch.no_grad():
    for images, labels in testloader:
        _, predictions = torch.max(net(images), 1)
        for label, prediction in zip(labels, predictions):
            total_pred[classes[label]] += 1
            correct_pred[classes[label]] += int(label == prediction)
for name in classes:
    print(f"Accuracy for class: {name:8s} is {100 * correct_pred[name] / total_pred[name]:.1f} %")

state = net.state_dict()
print("saved tensors:", {k: tuple(v.shape) for k, v in state.items()})
print("first conv kernel:", state["conv1.weight"][0, 0])
