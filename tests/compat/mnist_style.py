"""The classic MNIST example's structure (without argparse or downloads): a conv net with
dropout and log_softmax, nll_loss, Adadelta with StepLR, train/test functions with their
progress lines, on seeded synthetic 14x14 "digits"."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(settings, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % settings["log_interval"] == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(  # noqa: UP032
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


def digits(n, templates):
    """Each class a fixed random template, shifted by up to one pixel, plus noise."""
    labels = torch.randint(0, 10, (n,))
    shifts = torch.randint(-1, 2, (n, 2))
    images = torch.empty(n, 1, 14, 14)
    for k in range(n):
        dy, dx = int(shifts[k, 0]), int(shifts[k, 1])
        images[k, 0] = torch.roll(templates[labels[k]], (dy, dx), (0, 1))
    images += 0.3 * torch.randn_like(images)
    return (images - 0.5) / 0.3, labels


def main():
    settings = {"batch_size": 32, "test_batch_size": 100, "epochs": 3, "lr": 1.0,
                "gamma": 0.7, "seed": 1, "log_interval": 4}
    use_accel = torch.accelerator.is_available()
    torch.manual_seed(settings["seed"])
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
    templates = (torch.rand(10, 14, 14) > 0.6).float()
    train_set = TensorDataset(*digits(320, templates))
    test_set = TensorDataset(*digits(200, templates))
    train_loader = DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True)
    test_loader = DataLoader(test_set, batch_size=settings["test_batch_size"])

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=settings["lr"])
    scheduler = StepLR(optimizer, step_size=1, gamma=settings["gamma"])
    for epoch in range(1, settings["epochs"] + 1):
        train(settings, model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()
    print("lr after training:", scheduler.get_last_lr())


if __name__ == "__main__":
    main()
