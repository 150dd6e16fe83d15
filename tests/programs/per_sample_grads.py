"""torch.func's tutorials "Per-sample gradients" and "Model ensembling": a small CNN's
per-sample gradients by a loop of autograd.grad and by vmap(grad(...)) over functional_call,
and five MLPs evaluated at once with stack_module_state + vmap; float32, parameters and data
from fixed values. Run: python per_sample_grads.py tapegrad|torch
"""
import sys
if sys.argv[1] == "tapegrad":
    import tapegrad as torch
    import tapegrad.nn as nn
    import tapegrad.nn.functional as F
    from tapegrad.func import functional_call, grad, stack_module_state, vmap
else:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.func import functional_call, grad, stack_module_state, vmap
import numpy as np

rng = np.random.default_rng(0)


def fixed(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.normal(size=tuple(p.shape)) * 0.2, dtype=torch.float32))
    return model


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)


data = torch.tensor(rng.normal(size=(16, 1, 14, 14)), dtype=torch.float32)
targets = torch.tensor(rng.integers(0, 10, 16))
model = fixed(SimpleCNN())


def compute_grad(sample, target):
    sample, target = sample.unsqueeze(0), target.unsqueeze(0)
    loss = loss_fn(model(sample), target)
    return torch.autograd.grad(loss, list(model.parameters()))


per_sample_grads = [compute_grad(data[i], targets[i]) for i in range(16)]
per_sample_grads = [torch.stack(shards) for shards in zip(*per_sample_grads)]

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return loss_fn(predictions, targets)


ft_compute_sample_grad = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
for name, g1, g2 in zip(params, per_sample_grads, ft_per_sample_grads.values()):
    print(name, tuple(g2.shape), torch.allclose(g1, g2, atol=3e-6, rtol=1e-5),
          f"{g2.abs().sum().item():.4f}")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


models = [fixed(MLP()) for _ in range(5)]
minibatch = torch.tensor(rng.normal(size=(64, 1, 28, 28)), dtype=torch.float32)
loop = torch.stack([m(minibatch) for m in models])
params, buffers = stack_module_state(models)


def fmodel(params, buffers, x):
    return functional_call(models[0], (params, buffers), (x,))


with torch.no_grad():
    predictions = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
print(predictions.shape, torch.allclose(predictions, loop, atol=1e-5, rtol=1e-5),
      f"{predictions.abs().sum().item():.3f}")
predictions = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
predictions.pow(2).mean().backward()
print(params["fc1.weight"].grad.shape, f"{params['fc1.weight'].grad.abs().sum().item():.5f}")
