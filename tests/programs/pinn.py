"""A physics-informed fit: u(x) from an MLP with u'' = -sin(x) on [0, pi] and u(0) = u(pi) = 0,
derivatives by autograd.grad(create_graph=True), Adam; float64, weights from fixed values.
Run: python pinn.py tapegrad|torch
"""
import math
import sys

import numpy as np

if sys.argv[1] == "tapegrad":
    import tapegrad as torch
else:
    import torch
torch.set_default_dtype(torch.float64)

model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                            torch.nn.Tanh(), torch.nn.Linear(16, 1))
rng = np.random.default_rng(0)
model.load_state_dict({k: torch.tensor(rng.uniform(-0.5, 0.5, tuple(v.shape)))
                       for k, v in model.state_dict().items()})
x = torch.linspace(0, math.pi, 40).reshape(-1, 1).requires_grad_(True)
ends = torch.tensor([[0.0], [math.pi]])
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(300):
    opt.zero_grad()
    u = model(x)
    du, = torch.autograd.grad(u.sum(), x, create_graph=True)
    d2u, = torch.autograd.grad(du.sum(), x, create_graph=True)
    residual = d2u + torch.sin(x)
    loss = (residual ** 2).mean() + (model(ends) ** 2).mean()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print(step, repr(loss.item()))
with torch.no_grad():
    err = (model(x) - torch.sin(x)).abs().max()
print("max error", repr(err.item()))
