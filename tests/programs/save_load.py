"""Train, save the model and optimizer state, load them into fresh objects, continue training:
the same predictions and losses as training without the round trip. float64.
Run: python save_load.py tapegrad|torch
"""
import os
import sys

import numpy as np

if sys.argv[1] == "tapegrad":
    import tapegrad as torch
else:
    import torch
torch.set_default_dtype(torch.float64)


def make():
    m = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.BatchNorm1d(8), torch.nn.GELU(),
                            torch.nn.Linear(8, 2))
    return m, torch.optim.AdamW(m.parameters(), lr=1e-2)


rng = np.random.default_rng(0)
x, y = torch.tensor(rng.standard_normal((32, 3))), torch.tensor(rng.standard_normal((32, 2)))
model, opt = make()
model.load_state_dict({k: torch.tensor(rng.uniform(-0.5, 0.5, tuple(v.shape))) if
                       v.dtype == torch.float64 else v for k, v in model.state_dict().items()})


def train(model, opt, n):
    for _ in range(n):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


print(repr(train(model, opt, 20)))
torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 20}, "ckpt.pt")
ckpt = torch.load("ckpt.pt")
model2, opt2 = make()
print(model2.load_state_dict(ckpt["model"]))
opt2.load_state_dict(ckpt["opt"])
print(ckpt["epoch"], sorted(ckpt["model"].keys()))
print(repr(train(model, opt, 10)), repr(train(model2, opt2, 10)))
model.eval()
model2.eval()
with torch.no_grad():
    print(bool(torch.equal(model(x), model2(x))), repr(model2(x)[0, 0].item()))
print(model2[1].num_batches_tracked, os.path.getsize("ckpt.pt") > 0)
