"""A two-layer net as an nn.Module, trained by Adam with a StepLR schedule on random data
(PyTorch's "custom nn Modules" example), float64; weights copied in with load_state_dict from
fixed values. Run: python two_layer_net.py tapegrad|torch
"""
import sys

import numpy as np

if sys.argv[1] == "tapegrad":
    import tapegrad as torch
else:
    import torch
torch.set_default_dtype(torch.float64)


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


N, D_in, H, D_out = 64, 100, 50, 10
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((N, D_in)))
y = torch.tensor(rng.standard_normal((N, D_out)))
model = TwoLayerNet(D_in, H, D_out)
print(model)
state = {k: torch.tensor(rng.uniform(-0.1, 0.1, tuple(v.shape))) for k, v in
         model.state_dict().items()}
print(model.load_state_dict(state))
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.5)
for t in range(300):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 50 == 49:
        print(t, repr(loss.item()), scheduler.get_last_lr())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
print(sorted(optimizer.state_dict()["state"][0].keys()))
print(model.linear2.bias)
