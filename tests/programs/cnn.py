"""A small CNN (two Conv2d, max pooling, dropout in train mode only, three Linear) trained on
random 28x28 images through a DataLoader, then evaluated; float64. The weights are copied in
with load_state_dict; dropout is off (p=0) so both libraries see the same numbers.
Run: python cnn.py tapegrad|torch
"""
import sys

import numpy as np

if sys.argv[1] == "tapegrad":
    import tapegrad as torch
    import tapegrad.nn as nn
    import tapegrad.nn.functional as F
    from tapegrad.utils.data import DataLoader, TensorDataset
else:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset
torch.set_default_dtype(torch.float64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5, padding=2)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.dropout = nn.Dropout(0.0)
        self.fc1 = nn.Linear(8 * 6 * 6, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


rng = np.random.default_rng(0)
images = rng.standard_normal((96, 1, 28, 28))
labels = rng.integers(0, 10, 96)
ds = TensorDataset(torch.tensor(images), torch.tensor(labels))
train_set, test_set = torch.utils.data.Subset(ds, range(64)), torch.utils.data.Subset(ds, range(64, 96))
loader = DataLoader(train_set, batch_size=16)
net = Net()
print(net)
net.load_state_dict({k: torch.tensor(rng.uniform(-0.2, 0.2, tuple(v.shape)))
                     for k, v in net.state_dict().items()})
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(4):
    running = 0.0
    net.train()
    for i, (inputs, targets) in enumerate(loader):
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        running += loss.item()
    print(epoch, repr(running))
net.eval()
correct = 0
with torch.no_grad():
    for inputs, targets in DataLoader(test_set, batch_size=8):
        _, predicted = torch.max(net(inputs), 1)
        correct += (predicted == targets).sum().item()
print("correct", correct)
print(repr(net.conv1.weight.grad.abs().sum().item()))
