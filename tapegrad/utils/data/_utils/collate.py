"""Collation: a list of samples into a batch (`default_collate`), and `default_convert`.

torch's rules and type registry (``default_collate_fn_map``: exact type first, then the first
key the element is an instance of), with tapegrad tensors: tensors are stacked with
`tapegrad.stack`, numpy arrays and scalars become tensors of their dtype (integers and bools
that tapegrad has no dtype for become int64), Python floats a float64 tensor, ints an int64 one,
bools a bool one; strings and bytes stay as the batch holds them (a list, or a tuple inside a
transposed sequence); mappings are collated per key, namedtuples per field, other sequences
transposed (tuples give lists, as in torch).
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable, Optional

import numpy as np

from ....tensor import Tensor

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}"
)


def default_convert(data: Any) -> Any:
    """Each numpy array or scalar inside `data` as a tensor (containers rebuilt, other values
    left as they are); what a `DataLoader` without batching applies to each sample.

    >>> import numpy as np
    >>> default_convert([np.array([0, 1]), 2, "a"])
    [tensor([0, 1]), 2, 'a']
    """
    from ....factories import as_tensor
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and \
                np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # (torch: a list, for backward compatibility)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch: list, *, collate_fn_map: Optional[dict] = None) -> Any:
    """Collate `batch` (a list of samples) using `collate_fn_map` for the leaf types (each
    function is called as ``fn(batch, collate_fn_map=...)``) and torch's container rules.

    >>> fns = {int: lambda b, **kw: sum(b), str: lambda b, **kw: b}
    >>> collate([(1, "a"), (2, "b")], collate_fn_map=fns)
    [3, ('a', 'b')]
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
                return clone
            return elem_type({key: collate([d[key] for d in batch],
                                           collate_fn_map=collate_fn_map) for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                    for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map)
                              for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map: Optional[dict] = None) -> Tensor:
    """Tensors: stacked along a new first dimension (`tapegrad.stack`)."""
    from .... import stack
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map: Optional[dict] = None):
    """numpy arrays: as tensors of their dtype, then stacked (strings and objects refused)."""
    from ....factories import as_tensor
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map: Optional[dict] = None) -> Tensor:
    """numpy scalars: a 1-d tensor of their dtype."""
    from ....factories import as_tensor
    return as_tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map: Optional[dict] = None) -> Tensor:
    """Python floats: a float64 tensor (as torch, whatever the default dtype)."""
    from ....factories import tensor
    return tensor(list(batch), dtype=np.float64)


def collate_int_fn(batch, *, collate_fn_map: Optional[dict] = None) -> Tensor:
    """Python ints (int64) and bools (bool)."""
    from ....factories import tensor
    return tensor(list(batch))


def collate_str_fn(batch, *, collate_fn_map: Optional[dict] = None):
    """Strings and bytes: the batch as it is."""
    return batch


default_collate_fn_map: dict = {Tensor: collate_tensor_fn,
                                np.ndarray: collate_numpy_array_fn,
                                (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
                                float: collate_float_fn,
                                int: collate_int_fn,
                                str: collate_str_fn,
                                bytes: collate_str_fn}


def default_collate(batch: list) -> Any:
    """Put a list of samples together into a batch with a new first dimension (what a
    `DataLoader` does with each batch unless given a ``collate_fn``).

    >>> import tapegrad as tg
    >>> default_collate([(tg.tensor([1., 2.]), 0), (tg.tensor([3., 4.]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    >>> default_collate([{"x": 0.5, "name": "a"}, {"x": 1.5, "name": "b"}])
    {'x': tensor([0.5000, 1.5000], dtype=tapegrad.float64), 'name': ['a', 'b']}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


CollateFn = Callable[[list], Any]
