"""`tapegrad.nn.functional`, as torch.nn.functional: activations, losses, linear, dropout."""
from __future__ import annotations
