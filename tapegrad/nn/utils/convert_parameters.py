"""Parameters to one flat vector and back (torch's ``parameters_to_vector``)."""
from __future__ import annotations

from typing import Iterable

from ... import ops
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated (differentiable).
    ``parameters_to_vector([tg.ones(2, 2), tg.zeros(1)])`` -> ``tensor([1., 1., 1., 1., 0.])``."""
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Point each parameter's data at its slice of `vec` (the inverse of
    `parameters_to_vector`)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
