"""``tapegrad.optim``: torch's optimizers and learning-rate schedulers; an update is one Numba
kernel call per parameter group and dtype, a fused loop per parameter inside it (L-BFGS: numpy on
the flattened parameters).

>>> import tapegrad as tg
>>> from tapegrad import optim
>>> w = tg.tensor([3.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.25)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
>>> for _ in range(3):
...     opt.zero_grad(); (w * w).sum().backward(); opt.step(); sched.step()
>>> w, sched.get_last_lr()
(tensor([0.9844], requires_grad=True), [0.03125])
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
