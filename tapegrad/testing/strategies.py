"""Hypothesis strategies for property-testing gradients, built on `hypothesis.extra.numpy`.

>>> from hypothesis import given, settings
>>> from tapegrad.testing import assert_gradients_close
>>> from tapegrad.testing.strategies import POSITIVE, elements, tensors
>>> @settings(deadline=None)  # the first example may compile kernels
... @given(tensors(elements=elements(POSITIVE)))
... def test_log(x):
...     assert_gradients_close(lambda x: x.log().sum(), x)
>>> test_log()
"""
from __future__ import annotations

from typing import Optional, Union

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .._dtype import as_dtype, float64
from .._opdef import NONZERO, POSITIVE, REAL, Domain
from ..factories import tensor

__all__ = ["Domain", "REAL", "POSITIVE", "NONZERO", "elements", "shapes",
           "broadcastable_shapes", "tensors", "dims"]


def elements(domain: Domain = REAL) -> st.SearchStrategy:
    """Finite floats in [domain.lo, domain.hi], at least `domain.gap` away from every kink/pole.

    ``elements(Domain(-3, 3, kinks=(0.0,), gap=0.1))`` suits relu or abs."""
    el = st.floats(domain.lo, domain.hi, allow_nan=False, allow_infinity=False)
    if domain.kinks:
        el = el.filter(lambda v: all(abs(v - k) > domain.gap for k in domain.kinks))
    return el


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 3) -> st.SearchStrategy:
    """Array shapes (0-d included by default), small enough for finite differences."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(n: int = 2, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 3) -> st.SearchStrategy:
    """Tuples of `n` mutually broadcast-compatible shapes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             max_side=max_side).map(lambda s: s.input_shapes)


def tensors(shape: Union[tuple, st.SearchStrategy, None] = None, dtype=float64,
            elements: Optional[st.SearchStrategy] = None,
            requires_grad: bool = True) -> st.SearchStrategy:
    """Tensors of `shape` (a shape or a strategy of shapes; default: `shapes()`), with values
    from `elements` (default: `elements()`), as leaves that require grad by default."""
    np_dtype = as_dtype(dtype).np_dtype
    el = elements if elements is not None else globals()["elements"]()
    arrays = hnp.arrays(np_dtype, shape if shape is not None else shapes(), elements=el)
    return arrays.map(lambda a: tensor(a, requires_grad=requires_grad))


def dims(shape_or_ndim: Union[tuple, int], *, multiple: bool = False) -> st.SearchStrategy:
    """Valid `dim` arguments (negative ones included): an int, or with ``multiple=True`` a tuple
    of distinct dims. A 0-d tensor accepts 0 and -1, as torch."""
    nd = shape_or_ndim if isinstance(shape_or_ndim, int) else len(shape_or_ndim)
    if nd == 0:
        one = st.sampled_from([0, -1])
        return st.tuples(one) if multiple else one
    if multiple:
        return hnp.valid_tuple_axes(nd, min_size=1)
    return st.integers(-nd, nd - 1)

