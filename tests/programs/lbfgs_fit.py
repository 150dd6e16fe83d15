"""Curve fitting with LBFGS and a closure (strong Wolfe line search), then with plain LBFGS, on
a small nn.Module; float64, parameters from fixed values. Run: python lbfgs_fit.py tapegrad|torch
"""
import sys

if sys.argv[1] == "tapegrad":
    import tapegrad as torch
else:
    import torch
torch.set_default_dtype(torch.float64)


class Damped(torch.nn.Module):
    """a * exp(-b t) * cos(w t + phi)"""

    def __init__(self):
        super().__init__()
        self.params = torch.nn.Parameter(torch.tensor([0.8, 0.3, 2.5, 0.1]))

    def forward(self, t):
        a, b, w, phi = self.params
        return a * torch.exp(-b * t) * torch.cos(w * t + phi)


t = torch.linspace(0, 6, 120)
y = 1.2 * torch.exp(-0.4 * t) * torch.cos(3.0 * t + 0.5) + 0.01 * torch.sin(37 * t)
for search in ("strong_wolfe", None):
    model = Damped()
    opt = torch.optim.LBFGS(model.parameters(), lr=1 if search else 0.1, max_iter=25,
                            history_size=10, line_search_fn=search)

    def closure():
        opt.zero_grad()
        loss = ((model(t) - y) ** 2).mean()
        loss.backward()
        return loss

    for step in range(4):
        loss = opt.step(closure)
        print(search, step, repr(loss.item()))
    print([round(v, 8) for v in model.params.tolist()])
    print(opt.state[model.params]["n_iter"], opt.state[model.params]["func_evals"])
