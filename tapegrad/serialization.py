"""`save` and `load`: torch's checkpoint functions, in a format without pickle.

A file is a zip archive (stored, not compressed) holding

* ``data.json``: the saved object's structure. Dicts (also OrderedDict, with any keys that are
  themselves savable: int, str, tuple ...), lists, tuples, `tapegrad.Size`, str, int, float
  (also nan and inf), bool, None, tapegrad dtypes and devices, tensors and ``nn.Parameter`` s
  (dtype, shape, strides, requires_grad, which storage and where in it);
* ``storages/<k>.npy``: one numpy array per block of memory (``np.save``, no pickle).

As in torch, tensors that share memory (a tensor and its views, the same tensor twice, a
parameter and its ``detach()``) are saved once, with all of the block they share (a view saves
its base's memory), and load sharing memory again: the same tensor saved twice loads as one
object; a view loads as a tensor over the same memory as its base (an in-place change of one
shows in the other), with ``_base`` None, as torch's loaded tensors. Containers are saved by
value: a list reachable twice loads as two lists, and a container inside itself is refused.

Anything else (a module, an optimizer, a numpy array or scalar, a set, an instance of your own
class ...) is pickled into ``pickles/<k>.pkl``, as torch pickles everything; `load` refuses it
unless given ``weights_only=False`` (refusing is torch's default too, since 2.6), naming its
type. Files written by ``torch.save`` cannot be read (nor tapegrad's by torch).
"""
from __future__ import annotations

import collections
import ctypes
import json
import math
import os
import pickle
import zipfile
from typing import IO, Any, Callable, Optional, Union

import numpy as np

from . import _dtype
from ._device import check_device, device
from .tensor import Size, Tensor, _wrap

__all__ = ["save", "load"]

FORMAT = "tapegrad.save"
VERSION = 1
_STRUCTURE = "data.json"
FileLike = Union[str, os.PathLike, IO[bytes]]


def _parameter_class():
    try:  # (nn.parameter imports tensor machinery; it may be absent in a partial checkout)
        from .nn.parameter import Parameter
    except ImportError:
        return None
    return Parameter


def _tensor_kind(t: Tensor) -> Optional[str]:
    """"parameter", "tensor", or None for a Tensor subclass of the user's (pickled)."""
    cls = type(t)
    if cls.__name__ == "Parameter" and cls.__module__.startswith("tapegrad."):
        return "parameter"
    if cls.__module__.startswith("tapegrad."):  # Tensor, its fast-path classes, nn.Buffer
        return "tensor"
    return None


# -- saving ------------------------------------------------------------------------------------

class _Writer:
    """Turns an object into JSON nodes, collecting its tensors and pickled parts."""

    def __init__(self, pickle_module, protocol: int) -> None:
        self.tensors: list = []      # distinct tensors, in first-seen order
        self._index: dict = {}       # id(tensor) -> position in `tensors`
        self.pickles: list = []      # pickled bytes
        self.pickle_types: list = []  # their types' qualified names
        self._pickle = pickle_module
        self._protocol = protocol
        self._open: set = set()      # ids of the containers being encoded (cycle check)

    def encode(self, obj) -> Any:
        if obj is None or type(obj) in (bool, int, str):
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, Tensor) and _tensor_kind(obj) is not None:
            return {"$": "tensor", "id": self._tensor(obj)}
        if type(obj) in _CONTAINERS:
            return self._container(obj)
        if type(obj) is _dtype.dtype:
            return {"$": "dtype", "v": obj.name}
        if type(obj) is device:
            return {"$": "device", "v": str(obj)}
        return self._pickled(obj)

    def _tensor(self, t: Tensor) -> int:
        k = self._index.get(id(t))
        if k is None:
            k = self._index[id(t)] = len(self.tensors)
            self.tensors.append(t)
        return k

    def _container(self, obj) -> dict:
        if id(obj) in self._open:
            raise ValueError(f"tapegrad.save: this {type(obj).__name__} contains itself (a "
                             f"reference cycle), which tapegrad's format cannot hold")
        self._open.add(id(obj))
        try:
            return _CONTAINERS[type(obj)](self, obj)
        finally:
            self._open.discard(id(obj))

    def _items(self, d: dict) -> list:
        return [[self.encode(k), self.encode(v)] for k, v in d.items()]

    def _pickled(self, obj) -> dict:
        cls = type(obj)
        self.pickles.append(self._pickle.dumps(obj, protocol=self._protocol))
        self.pickle_types.append(f"{cls.__module__}.{cls.__qualname__}")
        return {"$": "pickle", "id": len(self.pickles) - 1}


def _odict_node(w: _Writer, d) -> dict:
    node = {"$": "odict", "items": w._items(d)}
    meta = getattr(d, "_metadata", None)  # (torch's state dicts carry one)
    if meta is not None:
        node["meta"] = w.encode(meta)
    return node


_CONTAINERS: dict = {
    list: lambda w, x: [w.encode(v) for v in x],
    tuple: lambda w, x: {"$": "tuple", "v": [w.encode(v) for v in x]},
    Size: lambda w, x: {"$": "size", "v": [int(v) for v in x]},
    dict: lambda w, x: {"$": "dict", "items": w._items(x)},
    collections.OrderedDict: _odict_node,
}


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _extent(a: np.ndarray) -> tuple:
    """The bytes [lo, hi) that `a`'s elements occupy."""
    lo = hi = _address(a)
    for n, s in zip(a.shape, a.strides):
        if s < 0:
            lo += s * (n - 1)
        else:
            hi += s * (n - 1)
    return lo, hi + a.itemsize


def _owner(a: np.ndarray) -> int:
    """id of the object that owns `a`'s memory (the end of its ``.base`` chain)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return id(a)


def _intervals(tensors: list) -> dict:
    """Per memory owner, the byte intervals to save: (lo, hi, tensor index or None); None marks
    a view's base memory, which torch saves whole too."""
    by_owner: dict = collections.defaultdict(list)
    for i, t in enumerate(tensors):
        a = t._data
        owner = _owner(a) if a.size else ("empty", i)  # (an empty tensor shares nothing)
        by_owner[owner].append((*_extent(a), i))
        base = t._base
        if a.size and base is not None and _owner(base._data) == owner:
            by_owner[owner].append((*_extent(base._data), None))
    return by_owner


def _clusters(intervals: list) -> list:
    """Overlapping intervals merged: [(lo, hi, [tensor indices])]."""
    out: list = []
    for lo, hi, i in sorted(intervals, key=lambda e: e[0]):
        if out and lo < out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi, []])
        if i is not None:
            out[-1][2].append(i)
    return [c for c in out if c[2]]


def _storage_array(lo: int, hi: int, arrays: list) -> np.ndarray:
    """The bytes [lo, hi) as one array: the tensor's own array when the block is exactly one
    contiguous tensor, else a 1-d array of the tensors' common dtype (bytes if they differ)."""
    a0 = arrays[0]
    if a0.flags.c_contiguous and _extent(a0) == (lo, hi) and all(
            a.dtype == a0.dtype and a.shape == a0.shape and a.strides == a0.strides
            and _address(a) == lo for a in arrays):
        return a0
    dt = a0.dtype
    if any(a.dtype != dt or (_address(a) - lo) % dt.itemsize or
           any(s % dt.itemsize for s in a.strides) for a in arrays) or (hi - lo) % dt.itemsize:
        dt = np.dtype(np.uint8)
    return np.frombuffer(ctypes.string_at(lo, hi - lo), dtype=dt)


def _layout(tensors: list) -> tuple:
    """(storage arrays, one record per tensor)."""
    storages, records = [], [None] * len(tensors)
    for intervals in _intervals(tensors).values():
        for lo, _hi, members in _clusters(intervals):
            arrays = [tensors[i]._data for i in members]
            storages.append(_storage_array(lo, _hi, arrays))
            for i, a in zip(members, arrays):
                records[i] = _record(tensors[i], a, len(storages) - 1, _address(a) - lo)
    return storages, records


def _record(t: Tensor, a: np.ndarray, storage: int, offset: int) -> dict:
    return {"kind": _tensor_kind(t), "storage": storage, "offset": offset,
            "dtype": a.dtype.name, "shape": list(a.shape), "strides": list(a.strides),
            "requires_grad": bool(t.requires_grad)}


def _open_for(f: FileLike, mode: str):
    if isinstance(f, (str, os.PathLike)):
        return open(f, mode + "b")
    return _NoClose(f)


class _NoClose:
    """A caller's file object, used in a with-block without being closed."""

    def __init__(self, f) -> None:
        self.f = f

    def __enter__(self):
        return self.f

    def __exit__(self, *exc) -> None:
        pass


def save(obj: Any, f: FileLike, pickle_module: Any = pickle, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Write `obj` (typically a state dict, or a dict of them) to `f`, a path or a binary file
    object, in tapegrad's zip format (see this module's docstring). Objects outside the JSON
    structure's types are pickled with `pickle_module`, and need ``weights_only=False`` to load.

    >>> import io, tapegrad as tg
    >>> buf = io.BytesIO()
    >>> w = tg.ones(2, 2)
    >>> save({"w": w, "w.T": w.T, "step": 3}, buf)
    >>> d = load(io.BytesIO(buf.getvalue()))
    >>> d["step"], d["w"].shape, d["w.T"].stride()
    (3, tapegrad.Size([2, 2]), (1, 2))
    """
    writer = _Writer(pickle_module, pickle_protocol)
    root = writer.encode(obj)
    storages, records = _layout(writer.tensors)
    structure = {"format": FORMAT, "version": VERSION, "root": root, "tensors": records,
                 "storages": len(storages), "pickles": writer.pickle_types}
    with _open_for(f, "w") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(_STRUCTURE, json.dumps(structure, allow_nan=False))
        for k, arr in enumerate(storages):
            with zf.open(f"storages/{k}.npy", "w", force_zip64=True) as out:
                np.save(out, arr, allow_pickle=False)
        for k, data in enumerate(writer.pickles):
            zf.writestr(f"pickles/{k}.pkl", data)


# -- loading -----------------------------------------------------------------------------------

def _read_structure(zf: zipfile.ZipFile, f) -> dict:
    names = set(zf.namelist())
    if _STRUCTURE not in names:
        if any(n.endswith("data.pkl") for n in names):
            raise RuntimeError(f"tapegrad.load: {f!r} was written by torch.save; tapegrad reads "
                               f"only files that tapegrad.save wrote")
        raise RuntimeError(f"tapegrad.load: {f!r} is not a file written by tapegrad.save (no "
                           f"{_STRUCTURE} in it)")
    structure = json.loads(zf.read(_STRUCTURE))
    if structure.get("format") != FORMAT or structure.get("version") != VERSION:
        raise RuntimeError(f"tapegrad.load: {f!r} is not a tapegrad.save file of version "
                           f"{VERSION}")
    return structure


def _map_fn(map_location) -> Optional[Callable]:
    """Check `map_location` (everything must land on the CPU); a callable is applied to each
    loaded tensor as ``fn(tensor, "cpu")`` (None: keep it)."""
    if callable(map_location) and not isinstance(map_location, (str, device)):
        return map_location
    if isinstance(map_location, dict):  # source location -> target; ours is always "cpu"
        target = map_location.get("cpu", "cpu")
        check_device(target if isinstance(target, (str, device)) else str(target))
        return None
    check_device(map_location)
    return None


class _Reader:
    """Rebuilds the saved object from its JSON nodes."""

    def __init__(self, zf: zipfile.ZipFile, structure: dict, pickle_module,
                 map_fn: Optional[Callable]) -> None:
        self.zf = zf
        self.records = structure["tensors"]
        self.pickle_module = pickle_module
        self.map_fn = map_fn
        self._storages: dict = {}
        self._tensors: dict = {}
        counts = collections.Counter(r["storage"] for r in self.records)
        self._shared = {s for s, n in counts.items() if n > 1}

    def decode(self, node) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        return _DECODERS[node["$"]](self, node)

    def _pairs(self, node) -> list:
        return [(self.decode(k), self.decode(v)) for k, v in node["items"]]

    def storage(self, k: int) -> np.ndarray:
        if k not in self._storages:
            with self.zf.open(f"storages/{k}.npy") as fh:
                self._storages[k] = np.load(fh, allow_pickle=False)
        return self._storages[k]

    def tensor(self, k: int) -> Tensor:
        if k not in self._tensors:
            self._tensors[k] = self._build(self.records[k])
        return self._tensors[k]

    def _build(self, rec: dict) -> Tensor:
        st = self.storage(rec["storage"])
        shape, strides = tuple(rec["shape"]), tuple(rec["strides"])
        if st.shape == shape and st.strides == strides and rec["offset"] == 0 \
                and st.dtype.name == rec["dtype"]:
            arr = st
        else:
            arr = np.ndarray(shape, np.dtype(rec["dtype"]), buffer=st, offset=rec["offset"],
                             strides=strides)
        t = _wrap(arr)
        if rec["storage"] in self._shared:
            t._export()  # in-place ops must write this memory: other tensors read it too
        if rec["kind"] == "parameter":
            t = _parameter_class()(t, requires_grad=rec["requires_grad"])
        elif rec["requires_grad"]:
            t.requires_grad_(True)
        if self.map_fn is not None:
            mapped = self.map_fn(t, "cpu")
            if mapped is not None:
                if not isinstance(mapped, Tensor):
                    raise TypeError(f"map_location returned {type(mapped).__name__}, expected "
                                    f"a tensor (or None)")
                t = mapped
        return t

    def unpickle(self, node: dict) -> Any:
        return self.pickle_module.loads(self.zf.read(f"pickles/{node['id']}.pkl"))


def _odict(r: _Reader, node: dict) -> collections.OrderedDict:
    d = collections.OrderedDict(r._pairs(node))
    if "meta" in node:
        d._metadata = r.decode(node["meta"])
    return d


_DECODERS: dict = {
    "float": lambda r, n: float(n["v"]),
    "tensor": lambda r, n: r.tensor(n["id"]),
    "tuple": lambda r, n: tuple(r.decode(v) for v in n["v"]),
    "size": lambda r, n: Size(n["v"]),
    "dict": lambda r, n: dict(r._pairs(n)),
    "odict": _odict,
    "dtype": lambda r, n: _dtype._by_name(n["v"]),
    "device": lambda r, n: device(n["v"]),
    "pickle": lambda r, n: r.unpickle(n),
}


def _refuse_pickles(types: list) -> None:
    names = ", ".join(dict.fromkeys(types))  # (each type once, in the order saved)
    raise TypeError(f"tapegrad.load: weights_only=True refuses objects of type {names} "
                    f"(tapegrad.save pickled them). Loading them runs pickle, which can execute "
                    f"arbitrary code: pass weights_only=False only for a file you trust.")


def load(f: FileLike, map_location=None, pickle_module: Any = None, *,
         weights_only: Optional[bool] = None, mmap: Optional[bool] = None,
         **pickle_load_args: Any) -> Any:
    """Read an object that `save` wrote to `f` (a path or a binary file object).

    `map_location` may be None, ``"cpu"``, ``tapegrad.device("cpu")``, a dict mapping saved
    locations to new ones, or a callable ``fn(tensor, "cpu")`` returning the tensor to use (or
    None); anything that would put a tensor on another device raises tapegrad's device error.
    ``weights_only`` (None means True, as in torch >= 2.6) refuses pickled parts with a
    TypeError naming their type. `mmap` and `pickle_load_args` are accepted for torch's
    signature; the data is read into memory. Files written by ``torch.save`` are not readable.

    >>> import io, tapegrad as tg
    >>> buf = io.BytesIO(); x = tg.zeros(3)
    >>> save([x, x[1:]], buf); a, b = load(io.BytesIO(buf.getvalue()), map_location="cpu")
    >>> _ = a.add_(1); b
    tensor([1., 1.])
    """
    map_fn = _map_fn(map_location)
    weights_only = True if weights_only is None else bool(weights_only)
    with _open_for(f, "r") as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            raise RuntimeError(f"tapegrad.load: {f!r} is not a file written by tapegrad.save "
                               f"(not a zip archive)") from None
        with zf:
            structure = _read_structure(zf, f)
            if weights_only and structure["pickles"]:
                _refuse_pickles(structure["pickles"])
            reader = _Reader(zf, structure, pickle_module or pickle, map_fn)
            return reader.decode(structure["root"])
