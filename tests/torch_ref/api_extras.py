"""The torch functions added by tapegrad's `sorting`, `misc` and `_torch_api` modules, observed on
fixed inputs (ties, NaN, infinities, empty tensors, negative dims, 0-d tensors), with their
gradients, dtypes, result types, warnings and errors. Each case is a small program against
`lib` (torch or tapegrad); `record_api_extras.py` writes torch's observations to
tests/data/torch_api_extras.json and tests/test_api_extras.py compares tapegrad's.

Random functions are observed through what does not depend on the stream: shapes, dtypes,
supports, errors."""
from __future__ import annotations

import math
import re
import warnings

from . import jsonable, observe

INF, NAN = math.inf, math.nan
CASES: dict = {}

# ties, NaN and infinities; rows of different lengths exercise both of torch's topk algorithms
TIES = [2.0, 1.0, 2.0, 1.0, 3.0, 1.0]
WITH_NAN = [1.0, NAN, -INF, 0.0, 3.0, NAN, -0.0, INF]
MATRIX = [[3.0, 1.0, 2.0, 1.0], [0.5, 0.5, -1.0, 4.0], [2.0, 2.0, 2.0, 2.0]]
LONG_TIES = [float((i * 7) % 5) for i in range(70)]  # > 16 elements: introsort, partitions
SORT_SIZES = (17, 40, 100, 300)


def case(name: str):
    def put(fn):
        CASES[name] = fn
        return fn
    return put


def T(x):
    """A tensor as a user sees it: dtype, shape, values, whether it requires grad."""
    return {"dtype": str(x.dtype).split(".")[-1], "shape": list(x.shape),
            "values": jsonable(x.detach().tolist()), "requires_grad": x.requires_grad}


def R(r):
    """A torch.return_types named tuple: its type name and fields."""
    return {"type": type(r).__name__, **{f: T(getattr(r, f)) for f in type(r).__match_args__}}


def f64(lib, v, rg=False):
    return lib.tensor(v, dtype=lib.float64, requires_grad=rg)


def grad_of(lib, fn, v, weights=None):
    """d(sum(fn(x) * weights))/dx at x = v (float64): the gradient a user gets."""
    x = f64(lib, v, True)
    out = fn(x)
    w = lib.arange(1.0, out.numel() + 1.0, dtype=lib.float64).reshape(out.shape) \
        if weights is None else weights
    (out * w).sum().backward()
    return {"out": T(out), "grad": T(x.grad)}


def _warning_text(w) -> str:
    # torch appends where in its C++ sources a warning was raised
    return re.sub(r" \(Triggered internally at .*\)$", "", str(w.message), flags=re.S)


def prefix(obs, upto: str):
    """An error observation with its message cut after `upto` (the rest is torch's C++ tensor
    printout)."""
    if isinstance(obs, dict) and "message" in obs:
        obs = dict(obs, message=obs["message"].split(upto)[0] + upto)
    return obs


def warned(fn):
    """fn() and the warnings it gave (messages, in order)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = observe(fn)
    return {"value": value, "warnings": [_warning_text(w) for w in caught
                                         if issubclass(w.category, UserWarning)]}


# ------------------------------------------------------------------------------------------------
# sort / argsort / msort / topk
# ------------------------------------------------------------------------------------------------
for _desc in (False, True):
    for _stable in (False, True):
        for _label, _vals in (("ties", TIES), ("nan", WITH_NAN), ("long", LONG_TIES)):
            @case(f"sort|{_label}|desc={_desc}|stable={_stable}")
            def _(lib, v=_vals, d=_desc, s=_stable):
                return R(lib.sort(f64(lib, v), descending=d, stable=s))
    for _n in SORT_SIZES:
        @case(f"sort|size{_n}|desc={_desc}")
        def _(lib, n=_n, d=_desc):
            v = [float((i * 37) % 7) for i in range(n)]
            return T(lib.sort(f64(lib, v), descending=d).indices)


@case("sort|matrix|dims")
def _(lib):
    x = f64(lib, MATRIX)
    return [R(x.sort(0)), R(x.sort(-1, True)), R(lib.sort(x, dim=1, stable=True))]


@case("sort|int_bool_float32")
def _(lib):
    return [R(lib.sort(lib.tensor([3, 1, 2, 1]))), R(lib.tensor([True, False, True]).sort()),
            R(lib.tensor([0.5, -1.0, 0.25]).sort(descending=True))]


@case("sort|0d_and_empty")
def _(lib):
    return [R(lib.sort(f64(lib, 3.0))), R(lib.sort(lib.zeros(0, 2), dim=0)),
            R(lib.sort(lib.zeros(2, 0)))]


@case("sort|expanded")
def _(lib):
    return R(lib.tensor([[1.0], [2.0]]).expand(2, 3).sort())


@case("sort|large_int_radix")
def _(lib):
    x = lib.arange(40000) % 3
    i = lib.sort(x).indices
    return [T(i[:20]), T(i[-20:])]


@case("sort|errors")
def _(lib):
    x = f64(lib, [1.0, 2.0])
    return [observe(lambda: lib.sort(x, 1)), observe(lambda: lib.sort(x, -2))]


@case("sort|grad")
def _(lib):
    return [grad_of(lib, lambda x: lib.sort(x, descending=True).values, TIES),
            grad_of(lib, lambda x: x.sort(0).values, MATRIX)]


@case("argsort")
def _(lib):
    x = f64(lib, MATRIX)
    return [T(lib.argsort(f64(lib, TIES))), T(x.argsort(0, descending=True)),
            T(lib.argsort(f64(lib, WITH_NAN), stable=True, descending=True)),
            T(lib.argsort(f64(lib, 1.0)))]


@case("msort")
def _(lib):
    return [T(lib.msort(f64(lib, MATRIX))), grad_of(lib, lib.msort, MATRIX)]


for _k in (0, 1, 3, 6):
    for _largest in (True, False):
        for _sorted in (True, False):
            @case(f"topk|ties|k={_k}|largest={_largest}|sorted={_sorted}")
            def _(lib, k=_k, la=_largest, so=_sorted):
                return R(lib.topk(f64(lib, TIES), k, largest=la, sorted=so))


for _k in (1, 2, 5, 30, 70):
    for _largest in (True, False):
        @case(f"topk|long|k={_k}|largest={_largest}")
        def _(lib, k=_k, la=_largest):
            return R(lib.topk(f64(lib, LONG_TIES), k, largest=la))


@case("topk|nan")
def _(lib):
    x = f64(lib, WITH_NAN)
    return [R(x.topk(3)), R(x.topk(3, largest=False)), R(x.topk(8))]


@case("topk|dims_0d_empty")
def _(lib):
    x = f64(lib, MATRIX)
    return [R(x.topk(2, 0)), R(x.topk(2, dim=-1, largest=False)), R(lib.topk(f64(lib, 1.0), 1)),
            R(lib.topk(lib.zeros(0, 2), 0, dim=0)), R(lib.topk(lib.tensor([3, 1, 2]), 2))]


@case("topk|errors")
def _(lib):
    x = f64(lib, [1.0, 2.0])
    return [observe(lambda: x.topk(3)), observe(lambda: x.topk(-1)), observe(lambda: x.topk(1, 2))]


@case("topk|grad")
def _(lib):
    return [grad_of(lib, lambda x: x.topk(3).values, TIES),
            grad_of(lib, lambda x: x.topk(2, 0, largest=False).values, MATRIX)]


def _random_rows(seed: int, count: int) -> list:
    """Tie-heavy rows (some with NaN) of many lengths, the same in every process."""
    import random
    rnd = random.Random(seed)
    rows = []
    for _ in range(count):
        n = rnd.choice([1, 2, 3, 5, 8, 16, 17, 31, 64, 65, 129, 300])
        top = rnd.choice([1, 2, 5, 50])
        row = [float(rnd.randint(0, top)) for _ in range(n)]
        if rnd.random() < 0.2:
            for _ in range(rnd.randint(1, 3)):
                row[rnd.randrange(n)] = NAN
        rows.append((row, rnd.randint(1, n), rnd.random() < 0.5, rnd.random() < 0.7))
    return rows


for _batch in range(4):
    @case(f"selection|random_rows|{_batch}")
    def _(lib, b=_batch):
        out = []
        for row, k, largest, srt in _random_rows(b, 60):
            x = f64(lib, row)
            out.append([x.topk(k, largest=largest, sorted=srt).indices.tolist(),
                        x.kthvalue(k).indices.item(), x.median(0).indices.item(),
                        x.nanmedian(0).indices.item(), x.mode().indices.item(),
                        x.sort(descending=largest).indices.tolist()])
        return out


# ------------------------------------------------------------------------------------------------
# kthvalue / median / nanmedian / mode / aminmax
# ------------------------------------------------------------------------------------------------
@case("kthvalue|ties")
def _(lib):
    return [R(f64(lib, TIES).kthvalue(k)) for k in range(1, 7)]


@case("kthvalue|long_nan_dims")
def _(lib):
    return [R(f64(lib, LONG_TIES).kthvalue(k)) for k in (1, 20, 35, 70)] + [
        R(f64(lib, WITH_NAN).kthvalue(k)) for k in (1, 4, 8)] + [
        R(f64(lib, MATRIX).kthvalue(2, 0)), R(f64(lib, MATRIX).kthvalue(3, -1, True)),
        R(lib.kthvalue(f64(lib, 2.0), 1))]


@case("kthvalue|errors")
def _(lib):
    x = f64(lib, MATRIX)
    return [observe(lambda: x.kthvalue(5)), observe(lambda: x.kthvalue(0, 0)),
            observe(lambda: x.kthvalue(4, dim=0))]


@case("kthvalue|grad")
def _(lib):
    return grad_of(lib, lambda x: x.kthvalue(2, 1).values, MATRIX)


@case("median|global")
def _(lib):
    return [T(f64(lib, TIES).median()), T(f64(lib, [4.0, 1.0, 3.0, 2.0]).median()),
            T(f64(lib, WITH_NAN).median()), T(f64(lib, WITH_NAN).nanmedian()),
            T(lib.tensor([3, 1, 2, 4]).median()), T(lib.tensor([]).median()),
            T(f64(lib, 5.0).median()), T(f64(lib, [NAN, NAN]).nanmedian())]


@case("median|dim")
def _(lib):
    x = f64(lib, MATRIX)
    return [R(x.median(0)), R(x.median(1, keepdim=True)), R(f64(lib, TIES).median(0)),
            R(f64(lib, LONG_TIES).median(-1)), R(f64(lib, WITH_NAN).median(0)),
            R(f64(lib, WITH_NAN).nanmedian(0)), R(f64(lib, [NAN, NAN, NAN]).nanmedian(0)),
            R(f64(lib, [[NAN, 1.0], [2.0, NAN]]).nanmedian(1))]


@case("median|errors")
def _(lib):
    return [observe(lambda: lib.zeros(0, 3).median(0)), observe(lambda: lib.zeros(3, 0).median(-1)),
            observe(lambda: lib.zeros(0).nanmedian(0)), observe(lambda: f64(lib, [1.0]).median(1))]


@case("median|grad")
def _(lib):
    return [grad_of(lib, lambda x: x.median(), [1.0, 2.0, 2.0, 3.0]),
            grad_of(lib, lambda x: x.median(), [5.0, 1.0, 3.0]),
            grad_of(lib, lambda x: x.nanmedian(), [1.0, 2.0, 2.0, NAN]),
            grad_of(lib, lambda x: x.median(), [1.0, NAN, 2.0, NAN]),
            grad_of(lib, lambda x: x.median(1).values, MATRIX),
            grad_of(lib, lambda x: x.nanmedian(0).values, [[NAN, 1.0], [2.0, 3.0]])]


@case("mode")
def _(lib):
    x = f64(lib, MATRIX)
    return [R(f64(lib, TIES).mode()), R(x.mode(0)), R(x.mode(-1, True)), R(f64(lib, LONG_TIES).mode()),
            R(lib.tensor([[1, 2, 2, 1], [3, 3, 1, 1]]).mode()), R(f64(lib, 2.0).mode()),
            R(f64(lib, WITH_NAN).mode()), R(f64(lib, [float(i % 4) for i in range(50)]).mode()),
            observe(lambda: lib.zeros(0).mode()), grad_of(lib, lambda x: x.mode(1).values, MATRIX)]


@case("aminmax")
def _(lib):
    x = f64(lib, MATRIX)
    return [R(lib.aminmax(x)), R(lib.aminmax(x, dim=0)), R(x.aminmax(dim=-1, keepdim=True)),
            R(lib.aminmax(f64(lib, WITH_NAN))), R(lib.aminmax(x, keepdim=True)),
            observe(lambda: lib.aminmax(lib.zeros(0))),
            observe(lambda: lib.aminmax(lib.zeros(0, 2), dim=0)),
            grad_of(lib, lambda x: lib.aminmax(x, dim=1).max, MATRIX),
            grad_of(lib, lambda x: lib.aminmax(x).min, TIES)]


# ------------------------------------------------------------------------------------------------
# unique / unique_consecutive / bincount / histc
# ------------------------------------------------------------------------------------------------
@case("unique")
def _(lib):
    ints = lib.tensor([3, 1, 3, 2, 1000, -5, 3])
    return [T(lib.unique(ints)), [T(t) for t in lib.unique(ints, return_inverse=True,
                                                           return_counts=True)],
            [T(t) for t in lib.unique(ints, sorted=False, return_counts=True)],
            T(lib.unique(f64(lib, WITH_NAN))),
            [T(t) for t in lib.unique(lib.tensor([[3, 1], [1, 2]]), return_inverse=True)],
            T(lib.unique(lib.tensor([True, False, True]))), T(lib.unique(lib.zeros(0))),
            [T(t) for t in lib.unique(f64(lib, TIES), return_inverse=True, return_counts=True)],
            T(f64(lib, 2.0).unique())]


@case("unique|dim")
def _(lib):
    x = lib.tensor([[1, 2], [1, 2], [0, 1], [0, 3]])
    return [[T(t) for t in lib.unique(x, dim=0, return_inverse=True, return_counts=True)],
            [T(t) for t in lib.unique(x, dim=1, return_inverse=True, return_counts=True)]]


@case("unique_consecutive")
def _(lib):
    x = lib.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    m = lib.tensor([[1, 1], [1, 1], [2, 3], [1, 1]])
    return [T(lib.unique_consecutive(x)),
            [T(t) for t in lib.unique_consecutive(x, return_inverse=True, return_counts=True)],
            [T(t) for t in lib.unique_consecutive(m, return_inverse=True, return_counts=True,
                                                  dim=0)],
            [T(t) for t in m.unique_consecutive(return_inverse=True)],
            T(lib.unique_consecutive(f64(lib, [NAN, NAN, 1.0, 1.0])))]


@case("bincount")
def _(lib):
    x = lib.tensor([0, 1, 1, 3])
    return [T(lib.bincount(x)), T(x.bincount(minlength=6)),
            T(lib.bincount(x, weights=lib.tensor([0.5, 1.0, 1.0, 2.0]))),
            T(lib.bincount(x, weights=f64(lib, [0.5, 1.0, 1.0, 2.0]))),
            T(lib.bincount(x, weights=lib.tensor([1, 2, 3, 4]))),
            T(lib.bincount(lib.tensor([], dtype=lib.int64))),
            T(lib.bincount(lib.tensor([], dtype=lib.int64), minlength=2)),
            T(lib.bincount(lib.tensor([2, 2], dtype=lib.int32)))]


@case("bincount|errors")
def _(lib):
    return [observe(lambda: lib.bincount(lib.tensor([-1, 1]))),
            observe(lambda: lib.bincount(lib.tensor([1.0, 1.0]))),
            observe(lambda: lib.bincount(lib.tensor([[1, 1]]))),
            observe(lambda: lib.bincount(lib.tensor([1]), minlength=-1)),
            observe(lambda: lib.bincount(lib.tensor([1, 2]), weights=lib.tensor([1.0])))]


@case("histc")
def _(lib):
    x = lib.tensor([1.0, 2.0, 1.0, 4.0, -1.0, 3.0, 3.0])
    return [T(lib.histc(x, bins=4, min=0, max=3)), T(lib.histc(x, bins=3)),
            T(x.histc(5, -1.0, 4.0)), T(lib.histc(lib.tensor([1.0, 1.0]), bins=4)),
            T(lib.histc(f64(lib, [0.1, 0.2, 0.3, 0.7, 0.9, 1.0, NAN, INF]), bins=10, min=0, max=1)),
            T(lib.histc(lib.tensor([0.1, 0.2, 0.3, 0.6, 0.7]), bins=10, min=0.0, max=0.7)),
            T(lib.histc(lib.zeros(0), bins=3)),
            T(lib.histc(lib.tensor([1.0, 2.0]), bins=2, min=5, max=5))]


@case("histc|errors")
def _(lib):
    return [observe(lambda: lib.histc(lib.tensor([1, 2]), bins=3)),
            observe(lambda: lib.histc(lib.tensor([1.0]), bins=3, min=3, max=1)),
            observe(lambda: lib.histc(lib.tensor([1.0]), bins=0)),
            observe(lambda: lib.histc(lib.tensor([1.0, INF]), bins=2))]


# ------------------------------------------------------------------------------------------------
# searchsorted / bucketize / nonzero / argwhere / count_nonzero
# ------------------------------------------------------------------------------------------------
@case("searchsorted")
def _(lib):
    s = f64(lib, [1.0, 3.0, 3.0, 5.0])
    v = f64(lib, [0.0, 3.0, 4.0, 6.0, NAN, -INF])
    return [T(lib.searchsorted(s, v)), T(lib.searchsorted(s, v, right=True)),
            T(lib.searchsorted(s, v, side="right")), T(lib.searchsorted(s, 3.0)),
            T(lib.searchsorted(s, 3)),
            T(lib.searchsorted(lib.tensor([1, 3, 5]), lib.tensor([3.5, 1.0]))),
            T(lib.searchsorted(f64(lib, [[1.0, 3.0], [2.0, 4.0]]), f64(lib, [[2.0], [3.0]]))),
            T(lib.searchsorted(f64(lib, [5.0, 1.0, 3.0]), f64(lib, [2.0, 6.0]),
                               sorter=lib.tensor([1, 2, 0]))),
            T(lib.searchsorted(s, v, out_int32=True)),
            T(lib.searchsorted(f64(lib, [1.0, NAN, 3.0]), f64(lib, [2.0, 4.0]))),
            T(lib.searchsorted(lib.zeros(0), f64(lib, [1.0]).float())),
            T(lib.searchsorted(s, f64(lib, [[0.0, 5.0], [3.0, 2.0]])))]


@case("searchsorted|errors")
def _(lib):
    s = lib.tensor([1.0, 3.0])
    return [observe(lambda: lib.searchsorted(s, lib.tensor([3.0]), side="left", right=True)),
            observe(lambda: lib.searchsorted(s, lib.tensor([3.0]), side="middle")),
            observe(lambda: lib.searchsorted(lib.ones(2, 2), lib.tensor([2.0]))),
            observe(lambda: lib.searchsorted(lib.ones(2, 2), 1.0))]


@case("bucketize")
def _(lib):
    b = f64(lib, [1.0, 3.0, 5.0])
    x = f64(lib, [[0.0, 3.0], [6.0, 1.0]])
    return [T(lib.bucketize(x, b)), T(lib.bucketize(x, b, right=True)), T(lib.bucketize(2, b)),
            T(lib.bucketize(x, b, out_int32=True)),
            observe(lambda: lib.bucketize(f64(lib, [0.0]), f64(lib, [[1.0, 3.0]])))]


@case("nonzero")
def _(lib):
    x = f64(lib, [[0.0, NAN], [-0.0, 2.0]])
    return [T(lib.nonzero(x)), [T(t) for t in x.nonzero(as_tuple=True)],
            T(lib.nonzero(f64(lib, 3.0))), [T(t) for t in lib.nonzero(f64(lib, 3.0), as_tuple=True)],
            [T(t) for t in lib.nonzero(f64(lib, 0.0), as_tuple=True)], T(lib.nonzero(lib.zeros(0, 2))),
            T(lib.argwhere(lib.tensor([[0, 1], [2, 0]]))), T(lib.tensor([True, False]).nonzero())]


@case("count_nonzero")
def _(lib):
    x = lib.tensor([[0, 1, 3], [2, 0, 0]])
    return [T(lib.count_nonzero(x)), T(lib.count_nonzero(x, dim=0)), T(x.count_nonzero(-1)),
            T(lib.count_nonzero(x, dim=(0, 1))), T(lib.count_nonzero(f64(lib, [NAN, 0.0, -0.0]))),
            observe(lambda: lib.count_nonzero(x, dim=(0, 0)))]


# ------------------------------------------------------------------------------------------------
# masked_select / take / repeat_interleave
# ------------------------------------------------------------------------------------------------
@case("masked_select")
def _(lib):
    x = f64(lib, [[1.0, 2.0], [3.0, 4.0]])
    return [T(lib.masked_select(x, lib.tensor([True, False]))),
            T(x.masked_select(lib.tensor([[True], [False]]))),
            T(lib.masked_select(f64(lib, 2.0), lib.tensor([[True, True]]))),
            T(lib.masked_select(f64(lib, 2.0), lib.tensor(False))),
            observe(lambda: lib.masked_select(x, lib.tensor([1, 0]))),
            grad_of(lib, lambda x: lib.masked_select(x, lib.tensor([[True, False], [True, True]])),
                    [[1.0, 2.0], [3.0, 4.0]]),
            grad_of(lib, lambda x: lib.masked_select(x, lib.tensor([[True], [False]])), [1.0, 2.0])]


@case("take")
def _(lib):
    x = f64(lib, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    return [T(lib.take(x, lib.tensor([[0, -1], [5, 2]]))), T(x.take(lib.tensor(4))),
            observe(lambda: lib.take(x, lib.tensor([6]))),
            observe(lambda: lib.take(x, lib.tensor([-7]))),
            observe(lambda: lib.take(x, lib.tensor([1.0]))),
            grad_of(lib, lambda x: lib.take(x, lib.tensor([[0, 0], [5, -1]])), [[0.0, 1.0, 2.0],
                                                                               [3.0, 4.0, 5.0]])]


@case("repeat_interleave")
def _(lib):
    x = lib.tensor([[1, 2], [3, 4]])
    return [T(lib.repeat_interleave(x, 2)), T(x.repeat_interleave(lib.tensor([1, 2]), dim=0)),
            T(x.repeat_interleave(lib.tensor([0, 3]), dim=-1)),
            T(lib.repeat_interleave(lib.tensor([1, 0, 2]))),
            T(lib.repeat_interleave(f64(lib, 3.0), 2)), T(x.repeat_interleave(lib.tensor(2), 1)),
            T(x.repeat_interleave(lib.tensor([2]), dim=0)),
            observe(lambda: lib.repeat_interleave(x, -1)),
            observe(lambda: lib.repeat_interleave(x, lib.tensor([1, -1]), dim=0)),
            observe(lambda: lib.repeat_interleave(x, lib.tensor([1, 2, 3]), dim=0)),
            observe(lambda: lib.repeat_interleave(x, lib.tensor([[1, 2]]), dim=0)),
            observe(lambda: lib.repeat_interleave(x, lib.tensor([1.0, 2.0]), dim=0)),
            grad_of(lib, lambda x: x.repeat_interleave(lib.tensor([3, 0, 1]), dim=1),
                    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
            grad_of(lib, lambda x: lib.repeat_interleave(x, 2), [[1.0, 2.0], [3.0, 4.0]])]


# ------------------------------------------------------------------------------------------------
# predicates, logical and bitwise ops
# ------------------------------------------------------------------------------------------------
SPECIALS = [0.0, -0.0, 1.0, -2.5, INF, -INF, NAN, -NAN, 1e-310, 1e308]


@case("predicates")
def _(lib):
    out = {}
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"):
        fn = getattr(lib, name)
        out[name] = [T(fn(f64(lib, SPECIALS))), T(fn(lib.tensor(SPECIALS))),
                     T(fn(lib.tensor([-1, 0, 2]))), T(fn(lib.tensor([True, False]))),
                     T(getattr(f64(lib, [NAN, 1.0]), name)())]
    return out


@case("logical")
def _(lib):
    a = f64(lib, [[1.0, 0.0], [NAN, -0.0]])
    b = lib.tensor([2, 0])
    return {name: [T(getattr(lib, name)(a, b)), T(getattr(a, name)(lib.tensor([[True], [False]])))]
            for name in ("logical_and", "logical_or", "logical_xor")} | {
        "not": [T(lib.logical_not(a)), T(lib.tensor([0, 3]).logical_not())],
        "scalar": observe(lambda: lib.logical_and(a, 1)),
        "shapes": observe(lambda: lib.logical_or(lib.ones(2), lib.ones(3)))}


@case("bitwise")
def _(lib):
    a, b = lib.tensor([3, 5, -2]), lib.tensor([1, 4, 7])
    m, n = lib.tensor([True, False, True]), lib.tensor([False, False, True])
    return [T(a & b), T(a | b), T(a ^ b), T(~a), T(m & n), T(m | n), T(m ^ n), T(~m),
            T(a & m), T(a | 4), T(6 & a), T(m ^ True), T(lib.bitwise_and(a, b)),
            T(lib.bitwise_not(m)), T(lib.tensor([1], dtype=lib.int32) | lib.tensor([2])),
            observe(lambda: lib.tensor([1.0]) & lib.tensor([1.0])),
            observe(lambda: ~lib.tensor([1.0])), observe(lambda: lib.bitwise_not(lib.tensor([1.0])))]


@case("isin_heaviside")
def _(lib):
    return [T(lib.isin(lib.tensor([1, 2, 3]), lib.tensor([2, 5]))),
            T(lib.isin(lib.tensor([[1, 2], [3, 4]]), lib.tensor([4, 1]), invert=True)),
            T(lib.isin(f64(lib, [1.0, NAN]), f64(lib, [NAN, 1.0]))),
            T(lib.heaviside(f64(lib, [-1.0, 0.0, -0.0, 2.0, NAN]), f64(lib, [0.5]))),
            T(lib.heaviside(lib.tensor([[-1], [0]]), lib.tensor([7, 8]))),
            observe(lambda: lib.heaviside(lib.tensor([1.0]), lib.tensor([1])))]


# ------------------------------------------------------------------------------------------------
# elementwise composites
# ------------------------------------------------------------------------------------------------
@case("nan_to_num")
def _(lib):
    x = f64(lib, [NAN, INF, -INF, 1.5, -0.0])
    return [T(lib.nan_to_num(x)), T(x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0)),
            T(lib.nan_to_num(lib.tensor([NAN, INF, -INF]))),
            T(lib.nan_to_num(lib.tensor([1, 2]))), T(lib.nan_to_num(f64(lib, [INF]), posinf=7)),
            grad_of(lib, lambda x: lib.nan_to_num(x, neginf=0.0), [NAN, INF, -INF, 1.5, -2.0])]


@case("nan_to_num_inplace")
def _(lib):
    x = f64(lib, [NAN, INF, 1.0])
    y = x.nan_to_num_(posinf=5.0)
    return [T(x), y is x, x._version]


@case("clamp_min_max")
def _(lib):
    x = f64(lib, [-2.0, 0.5, 3.0])
    return [T(lib.clamp_min(x, 0.0)), T(lib.clamp_max(x, 1.0)), T(x.clamp_min(f64(lib, [0.0, 1.0, 2.0]))),
            T(x.clamp_max(f64(lib, [[0.0], [5.0]]))), T(lib.clamp_min(lib.tensor([1, 5]), 2)),
            T(lib.clamp_max(lib.tensor([1, 5]), 2.5)),
            grad_of(lib, lambda x: lib.clamp_min(x, 0.0), [-2.0, 0.5, 3.0]),
            grad_of(lib, lambda x: x.clamp_max(1.0), [-2.0, 0.5, 3.0])]


@case("clamp_inplace")
def _(lib):
    x = f64(lib, [-2.0, 0.5, 3.0])
    x.clamp_min_(0.0)
    y = f64(lib, [-2.0, 0.5, 3.0])
    y.clamp_max_(f64(lib, [0.0, 0.0, 5.0]))
    w = f64(lib, [-2.0, 0.5, 3.0], True)
    z = w * 1
    z.clamp_min_(0.0)
    (z * f64(lib, [1.0, 2.0, 3.0])).sum().backward()
    return [T(x), T(y), T(w.grad), x._version]


@case("frac")
def _(lib):
    return [T(lib.frac(f64(lib, [1.25, -2.5, 0.0, -0.0, INF, NAN, 3.0]))),
            T(lib.tensor([1.5, -0.25]).frac()), observe(lambda: lib.frac(lib.tensor([1]))),
            grad_of(lib, lib.frac, [1.25, -2.5, 0.75])]


@case("addcmul_addcdiv")
def _(lib):
    a, b, c = f64(lib, [1.0, 2.0]), f64(lib, [[3.0], [4.0]]), f64(lib, [0.5, 4.0])
    return [T(lib.addcmul(a, b, c)), T(lib.addcmul(a, b, c, value=-0.5)), T(a.addcmul(b, c, value=2)),
            T(lib.addcdiv(a, b, c)), T(lib.addcdiv(a, b, c, value=0.1)), T(a.addcdiv(b, c, value=3)),
            T(lib.addcmul(lib.tensor([1, 2]), lib.tensor([3, 4]), lib.tensor([5, 6]), value=2)),
            T(lib.addcmul(lib.tensor([1.0, 2.0]), f64(lib, [3.0, 4.0]), lib.tensor([5, 6]))),
            observe(lambda: lib.addcdiv(lib.tensor([1]), lib.tensor([1]), lib.tensor([2]))),
            grad_of(lib, lambda x: lib.addcmul(x, x * 2, x[0], value=0.5), [1.0, -2.0, 3.0]),
            grad_of(lib, lambda x: lib.addcdiv(x[0], x, x + 5, value=-2), [1.0, -2.0, 3.0])]


@case("addcmul_addcdiv_inplace")
def _(lib):
    p = f64(lib, [1.0, 2.0])
    p.addcmul_(f64(lib, [3.0, 4.0]), f64(lib, [3.0, 4.0]), value=0.1)
    q = f64(lib, [1.0, 2.0])
    q.addcdiv_(f64(lib, [3.0, 4.0]), f64(lib, [2.0, 8.0]), value=-0.5)
    r = lib.tensor([1.0, 2.0])
    r.addcdiv_(lib.tensor([1.0, 1.0]), lib.tensor([3.0, 7.0]), value=0.3)
    w = f64(lib, [1.0, 2.0], True)
    s = w * 1
    s.addcmul_(w, w, value=2.0)
    s.sum().backward()
    return [T(p), T(q), T(r), T(w.grad), p._version]


# ------------------------------------------------------------------------------------------------
# scatter, index_add, index_fill, index_copy, masked_fill_
# ------------------------------------------------------------------------------------------------
@case("scatter")
def _(lib):
    x = f64(lib, [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    src = f64(lib, [[1.0, 2.0], [3.0, 4.0]])
    return [T(x.scatter(0, lib.tensor([[2, 0]]), 7.0)), T(x.scatter(0, lib.tensor([[2, 0]]), src)),
            T(lib.scatter(x, 1, lib.tensor([[1], [0], [1]]), src.repeat(2, 1))),
            T(x.scatter(0, lib.tensor([[0, 0], [0, 0]]), src)),
            T(x.scatter(-1, lib.tensor([[1, 0]], dtype=lib.int32), value=-1.0)),
            T(lib.scatter(f64(lib, 5.0), 0, lib.tensor(0), f64(lib, 2.0))),
            T(x.scatter(0, lib.zeros(0, 2, dtype=lib.int64), src))]


@case("scatter|reduce")
def _(lib):
    x = lib.ones(3, 2)
    idx = lib.tensor([[0, 0], [0, 2]])
    src = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    return [warned(lambda: T(x.scatter(0, idx, src, reduce="add"))),
            warned(lambda: T(x.scatter(0, idx, src, reduce="multiply"))),
            warned(lambda: T(x.scatter(0, idx, 2.0, reduce="add"))),
            warned(lambda: T(x.scatter(0, idx, 2.0, reduce="multiply"))),
            observe(lambda: x.scatter(0, idx, 2.0, reduce="sum"))]


@case("scatter|errors")
def _(lib):
    x = lib.zeros(3, 2)
    return [observe(lambda: x.scatter(0, lib.tensor([[2, 0, 1]]), 7.0)),
            observe(lambda: x.scatter(0, lib.tensor([[0, 0]]), lib.tensor([[1, 2]]))),
            observe(lambda: x.scatter(0, lib.tensor([[-1, 0]]), 1.0)),
            observe(lambda: x.scatter(0, lib.tensor([[3, 0]]), 1.0)),
            observe(lambda: x.scatter(0, lib.tensor([[0.0, 0.0]]), 1.0)),
            observe(lambda: x.scatter(0, lib.tensor([0, 0]), 1.0)),
            observe(lambda: x.scatter(0, lib.tensor([[0, 1], [1, 0]]), lib.ones(1, 2))),
            observe(lambda: x.scatter(2, lib.tensor([[0]]), 1.0))]


@case("scatter|grad")
def _(lib):
    src = f64(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
    x = f64(lib, [[0.5] * 3] * 3, True)
    out = x.scatter(0, lib.tensor([[2, 0, 2], [1, 1, 0]]), src)
    (out * lib.arange(9.0, dtype=lib.float64).reshape(3, 3)).sum().backward()
    y = f64(lib, [1.0, 2.0, 3.0], True)
    out2 = y.scatter(0, lib.tensor([1]), 9.0)
    (out2 * f64(lib, [1.0, 2.0, 3.0])).sum().backward()
    return [T(out), T(src.grad), T(x.grad), T(y.grad)]


@case("scatter|grad_duplicates")
def _(lib):
    src = f64(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
    x = f64(lib, [[0.5] * 3] * 3, True)
    out = x.scatter(0, lib.tensor([[2, 0, 2], [2, 1, 0]]), src)
    (out * lib.arange(9.0, dtype=lib.float64).reshape(3, 3)).sum().backward()
    y = f64(lib, [1.0, 2.0, 3.0], True)
    out2 = y.scatter(0, lib.tensor([1]), 9.0)
    (out2 * f64(lib, [1.0, 2.0, 3.0])).sum().backward()
    return [T(out), T(src.grad), T(x.grad), T(y.grad)]


@case("scatter_inplace")
def _(lib):
    x = lib.zeros(2, 3)
    x.scatter_(1, lib.tensor([[2], [0]]), lib.tensor([[5.0], [6.0]]))
    y = lib.zeros(4)
    y.scatter_add_(0, lib.tensor([0, 0, 3]), lib.tensor([1.0, 2.0, 3.0]))
    z = lib.zeros(3)
    z.scatter_(0, lib.tensor([1]), 4.0)
    return [T(x), T(y), T(z), x._version, y._version]


@case("index_add")
def _(lib):
    x = f64(lib, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    s = f64(lib, [[1.0, 2.0], [3.0, 4.0]])
    return [T(x.index_add(0, lib.tensor([0, 0]), s, alpha=2)), T(lib.index_add(x, 1, lib.tensor([1, 0]),
                                                                               s.repeat(2, 1)[:3])),
            T(x.index_add(0, lib.tensor([2, 1], dtype=lib.int32), s)),
            T(lib.index_add(f64(lib, 1.0), 0, lib.tensor([0]), f64(lib, 2.0))),
            observe(lambda: lib.index_add(f64(lib, 1.0), 0, lib.tensor([0]), f64(lib, [2.0]))),
            observe(lambda: x.index_add(0, lib.tensor([[0, 0]]), s)),
            observe(lambda: x.index_add(0, lib.tensor([0.0]), s[:1])),
            observe(lambda: x.index_add(0, lib.tensor([0]), s[:1].float())),
            observe(lambda: x.index_add(0, lib.tensor([0, 1, 2]), s)),
            observe(lambda: x.index_add(0, lib.tensor([0]), f64(lib, [[1.0, 2.0, 3.0]]))),
            observe(lambda: x.index_add(0, lib.tensor([3]), s[:1])),
            observe(lambda: x.index_add(0, lib.tensor([-1]), s[:1])),
            grad_of(lib, lambda s: x.index_add(0, lib.tensor([2, 2]), s, alpha=-1.5),
                    [[1.0, 2.0], [3.0, 4.0]]),
            grad_of(lib, lambda x: x.index_add(1, lib.tensor([1]), f64(lib, [[1.0], [2.0]])),
                    [[1.0, 2.0], [3.0, 4.0]])]


@case("index_fill_copy")
def _(lib):
    x = f64(lib, [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    return [T(x.index_fill(1, lib.tensor([1]), 5.0)), T(x.index_fill(0, lib.tensor([-1, 0]), -1.0)),
            T(lib.index_fill(x, 1, lib.tensor(0), f64(lib, 9.0))),
            T(x.index_copy(0, lib.tensor([2, 0]), f64(lib, [[1.0, 2.0], [3.0, 4.0]]))),
            T(lib.index_copy(x, 1, lib.tensor([1]), f64(lib, [[7.0], [8.0], [9.0]]))),
            observe(lambda: x.index_fill(1, lib.tensor([2]), 5.0)),
            observe(lambda: x.index_fill(1, lib.tensor([0], dtype=lib.int32), 5.0)),
            observe(lambda: x.index_fill(1, lib.tensor([0]), f64(lib, [5.0]))),
            observe(lambda: x.index_fill(1, lib.tensor([[0]]), 5.0)),
            observe(lambda: x.index_copy(0, lib.tensor([2, 0]), lib.ones(3, 2, dtype=lib.float64))),
            observe(lambda: x.index_copy(0, lib.tensor([2]), lib.ones(1, 3, dtype=lib.float64))),
            observe(lambda: x.index_copy(0, lib.tensor([3]), lib.ones(1, 2, dtype=lib.float64))),
            observe(lambda: x.index_copy(0, lib.tensor([-1]), lib.ones(1, 2, dtype=lib.float64))),
            observe(lambda: x.index_copy(0, lib.tensor([0], dtype=lib.int32),
                                         lib.ones(1, 2, dtype=lib.float64))),
            observe(lambda: x.index_copy(0, lib.tensor([0]), lib.ones(1, 2))),
            grad_of(lib, lambda x: x.index_fill(0, lib.tensor([1]), 0.0), [[1.0, 2.0], [3.0, 4.0]]),
            grad_of(lib, lambda s: x.index_copy(1, lib.tensor([0]), s), [[1.0], [2.0], [3.0]]),
            grad_of(lib, lambda x: x.index_copy(1, lib.tensor([0]), f64(lib, [[1.0], [2.0], [3.0]])),
                    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])]


@case("index_inplace")
def _(lib):
    a = lib.zeros(3)
    a.index_add_(0, lib.tensor([0, 0, 2]), lib.tensor([1.0, 2.0, 3.0]))
    b = lib.zeros(2, 2)
    b.index_fill_(1, lib.tensor([1]), 7.0)
    c = lib.zeros(3)
    c.index_copy_(0, lib.tensor([2]), lib.tensor([4.0]))
    return [T(a), T(b), T(c), a._version, b._version, c._version]


@case("masked_fill_")
def _(lib):
    x = lib.zeros(2, 2)
    r = x.masked_fill_(lib.tensor([True, False]), 1.5)
    y = lib.zeros(2)
    y.masked_fill_(lib.tensor([False, True]), lib.tensor(3.0))
    w = f64(lib, [1.0, 2.0, 3.0], True)
    v = f64(lib, 4.0, True)
    z = w * 2
    z.masked_fill_(lib.tensor([True, False, True]), v)
    (z * f64(lib, [1.0, 2.0, 3.0])).sum().backward()
    return [T(x), r is x, T(y), T(z), T(w.grad), T(v.grad), x._version,
            observe(lambda: lib.zeros(2).masked_fill_(lib.tensor([[True, False]]), 1.0)),
            observe(lambda: lib.zeros(2).masked_fill_(lib.tensor([1, 0]), 1.0))]


@case("type_as")
def _(lib):
    x = lib.tensor([1.7, -2.2])
    return [T(x.type_as(lib.tensor([1]))), T(lib.tensor([1, 2]).type_as(f64(lib, [1.0]))),
            x.type_as(lib.ones(1)) is x]


# ------------------------------------------------------------------------------------------------
# diff, trace, kron, cross, tensordot
# ------------------------------------------------------------------------------------------------
@case("diff")
def _(lib):
    x = f64(lib, [[0.0, 1.0, 3.0], [6.0, 10.0, 15.0]])
    return [T(lib.diff(x)), T(x.diff(dim=0)), T(lib.diff(x, n=2)), T(lib.diff(x, n=0)),
            T(lib.diff(x, n=5)), T(lib.diff(lib.tensor([True, False, False]))),
            T(lib.diff(lib.tensor([1, 4, 9]))),
            T(lib.diff(x, dim=0, prepend=lib.zeros(1, 3, dtype=lib.float64),
                       append=lib.ones(2, 3, dtype=lib.float64))),
            observe(lambda: lib.diff(f64(lib, 1.0))), observe(lambda: lib.diff(x, n=-1)),
            observe(lambda: lib.diff(x, prepend=lib.zeros(3))),
            grad_of(lib, lambda x: lib.diff(x, n=2, dim=-1), [1.0, 4.0, -2.0, 8.0, 3.0]),
            grad_of(lib, lambda x: lib.diff(x, append=x[:1] * 3), [1.0, 4.0, -2.0])]


@case("trace_kron")
def _(lib):
    m = f64(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    return [T(lib.trace(m)), T(lib.trace(lib.ones(2, 3, dtype=lib.int32))), T(m.t().trace()),
            observe(lambda: lib.trace(lib.ones(3))),
            T(lib.kron(lib.tensor([[1, 2], [3, 4]]), lib.tensor([1, 10]))),
            T(lib.kron(f64(lib, [1.0, 2.0]), f64(lib, [[1.0], [3.0]]))),
            T(lib.kron(f64(lib, 2.0), f64(lib, [1.0, 3.0]))),
            T(lib.kron(lib.ones(2, 1, 2), lib.ones(3, 2))),
            grad_of(lib, lambda x: lib.trace(x), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
            grad_of(lib, lambda x: lib.kron(x, x[:1] * 2), [[1.0, 2.0], [3.0, 4.0]])]


@case("cross")
def _(lib):
    a = f64(lib, [[1.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = f64(lib, [[0.0, 1.0, 0.0], [-1.0, 0.5, 2.0]])
    lcross = linalg_cross(lib)
    return [T(lib.cross(a, b, dim=1)), T(a.cross(b, dim=-1)), T(lcross(a, b)),
            T(lcross(f64(lib, [[1.0, 2.0, 3.0]]), b)),
            T(lib.cross(a.t(), b.t(), dim=0)),
            warned(lambda: T(lib.cross(lib.ones(3, 2), lib.ones(3, 2)))),
            observe(lambda: lib.cross(lib.ones(2, 2), lib.ones(2, 2))),
            observe(lambda: lcross(lib.ones(2), lib.ones(2))),
            observe(lambda: lcross(lib.ones(2, 1, 3), lib.ones(4, 3))),
            observe(lambda: lcross(lib.ones(1, 3), lib.ones(3, 3), dim=0)),
            grad_of(lib, lambda x: lcross(x, x.flip(-1) * 2 + 1), [[1.0, -2.0, 3.0],
                                                                  [0.5, 4.0, -1.0]])]


def linalg_cross(lib):
    """torch.linalg.cross; tapegrad has no `linalg` namespace yet (its function lives in
    tapegrad.ops.misc)."""
    linalg = getattr(lib, "linalg", None)
    return linalg.cross if linalg is not None else lib.ops.misc.linalg_cross


@case("tensordot")
def _(lib):
    a = lib.arange(24.0, dtype=lib.float64).reshape(2, 3, 4)
    b = lib.arange(12.0, dtype=lib.float64).reshape(4, 3)
    return [T(lib.tensordot(a, b, dims=1)), T(lib.tensordot(a, b, dims=([1, 2], [1, 0]))),
            T(lib.tensordot(a, b.t(), dims=([-1], [1]))),
            T(lib.tensordot(f64(lib, [1.0, 2.0]), f64(lib, [3.0, 4.0]), dims=0)),
            T(lib.tensordot(a, a, dims=3)),
            observe(lambda: lib.tensordot(lib.ones(2, 3), lib.ones(3, 4), dims=-1)),
            observe(lambda: lib.tensordot(lib.ones(2, 3), lib.ones(2, 4), dims=([1], [0]))),
            observe(lambda: lib.tensordot(lib.ones(2, 3), lib.ones(3, 4, dtype=lib.float64), dims=1)),
            grad_of(lib, lambda x: lib.tensordot(x, x.t() * 2, dims=([1], [0])),
                    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])]


# ------------------------------------------------------------------------------------------------
# cdist
# ------------------------------------------------------------------------------------------------
P1 = [[0.0, 0.0], [3.0, 4.0], [1.0, -1.0]]
P2 = [[0.0, 0.0], [1.0, 1.0]]
BIG = [[math.sin(i * 1.3) * 2, math.cos(i * 0.7), (i % 5) * 0.25] for i in range(30)]


@case("cdist")
def _(lib):
    a, b = f64(lib, P1), f64(lib, P2)
    out = {f"p={p}": T(lib.cdist(a, b, p=p)) for p in (0.0, 1.0, 2.0, 3.0, 0.5, INF)}
    out["batch"] = T(lib.cdist(lib.ones(2, 1, 3, 2, dtype=lib.float64), f64(lib, [[[0.0, 1.0]] * 5] * 4)))
    out["mm"] = T(lib.cdist(f64(lib, BIG), f64(lib, BIG[:4])))
    out["mm_forced"] = T(lib.cdist(a, b, compute_mode="use_mm_for_euclid_dist"))
    out["direct"] = T(lib.cdist(f64(lib, BIG), f64(lib, BIG[3:7]),
                                compute_mode="donot_use_mm_for_euclid_dist"))
    out["float32"] = T(lib.cdist(lib.tensor(P1), lib.tensor(P2)))
    return out


@case("cdist|errors")
def _(lib):
    return [observe(lambda: lib.cdist(lib.ones(3), lib.ones(3))),
            observe(lambda: lib.cdist(lib.ones(2, 3), lib.ones(2, 2))),
            observe(lambda: lib.cdist(lib.ones(2, 3), lib.ones(2, 3), p=-1)),
            observe(lambda: lib.cdist(lib.ones(2, 3, dtype=lib.int64), lib.ones(2, 3, dtype=lib.int64))),
            observe(lambda: lib.cdist(lib.ones(2, 3), lib.ones(2, 3), compute_mode="xx"))]


@case("cdist|grad")
def _(lib):
    b = f64(lib, P2)
    return [grad_of(lib, lambda x: lib.cdist(x, b), P1),
            grad_of(lib, lambda x: lib.cdist(x, x), P1),
            grad_of(lib, lambda x: lib.cdist(x, b, p=1.0), P1),
            grad_of(lib, lambda x: lib.cdist(x, b, p=3.0), P1),
            grad_of(lib, lambda x: lib.cdist(x, x[:3] * 1.0), BIG),
            grad_of(lib, lambda x: lib.cdist(x[:2], x, compute_mode="use_mm_for_euclid_dist"), P1)]


# ------------------------------------------------------------------------------------------------
# meshgrid, cartesian_prod, broadcasting, stacking, rot90
# ------------------------------------------------------------------------------------------------
@case("meshgrid")
def _(lib):
    a, b, c = lib.tensor([1, 2]), lib.tensor([3, 4, 5]), f64(lib, 7.0).long()
    return [[T(t) for t in lib.meshgrid(a, b, indexing="ij")],
            [T(t) for t in lib.meshgrid(a, b, indexing="xy")],
            [T(t) for t in lib.meshgrid([a, b, a], indexing="xy")],
            [T(t) for t in lib.meshgrid(c, b, indexing="ij")],
            [T(t) for t in lib.meshgrid(a, indexing="xy")],
            prefix(observe(lambda: lib.meshgrid(lib.ones(2, 2), indexing="ij")), "got:"),
            observe(lambda: lib.meshgrid(lib.ones(2), indexing="ab")),
            observe(lambda: lib.meshgrid(lib.ones(2), lib.ones(2, dtype=lib.float64), indexing="ij")),
            grad_of(lib, lambda x: lib.meshgrid(x, x[:2] * 3, indexing="xy")[1], [1.0, 2.0, 3.0])]


@case("meshgrid|warning")
def _(lib):
    # (the first call without indexing in a process warns; this is the only such call here)
    return warned(lambda: [T(t) for t in lib.meshgrid(lib.tensor([1, 2]), lib.tensor([3]))])


@case("cartesian_prod")
def _(lib):
    return [T(lib.cartesian_prod(lib.tensor([1, 2]), lib.tensor([3, 4]))),
            T(lib.cartesian_prod(lib.tensor([1, 2]), lib.tensor([3]), lib.tensor([5, 6]))),
            T(lib.cartesian_prod(lib.tensor([1, 2]))),
            observe(lambda: lib.cartesian_prod(lib.ones(2, 2))),
            grad_of(lib, lambda x: lib.cartesian_prod(x, x[1:] * 2), [1.0, 2.0, 3.0])]


@case("broadcast_tensors")
def _(lib):
    a, b = f64(lib, [[1.0], [2.0]]), f64(lib, [3.0, 4.0, 5.0])
    return [[T(t) for t in lib.broadcast_tensors(a, b)], [T(t) for t in lib.broadcast_tensors(a)],
            str(lib.broadcast_shapes((2, 1), (3,), (1, 1, 1))).replace("torch.", "tapegrad."),
            str(lib.broadcast_shapes(3, [2, 1], ())).replace("torch.", "tapegrad."),
            observe(lambda: lib.broadcast_shapes((2, 3), (4, 3), (2,))),
            observe(lambda: lib.broadcast_shapes((2,), [3])),
            observe(lambda: lib.broadcast_tensors(lib.ones(2), lib.ones(3))),
            grad_of(lib, lambda x: lib.broadcast_tensors(x, b)[0], [[1.0], [2.0]])]


@case("stacks")
def _(lib):
    v, w = f64(lib, [1.0, 2.0]), f64(lib, [3.0, 4.0])
    m = f64(lib, [[5.0, 6.0]])
    s = f64(lib, 7.0)
    return {"hstack": [T(lib.hstack([v, w])), T(lib.hstack([s, v])), T(lib.hstack([m, m]))],
            "vstack": [T(lib.vstack([v, w])), T(lib.vstack([v, m])), T(lib.row_stack((s, s)))],
            "dstack": [T(lib.dstack([v, w])), T(lib.dstack([m, m])), T(lib.dstack([s]))],
            "column_stack": [T(lib.column_stack([v, w])), T(lib.column_stack([v, m.t()])),
                             T(lib.column_stack([s, s]))],
            "atleast": [T(lib.atleast_1d(s)), T(lib.atleast_2d(v)), T(lib.atleast_3d(v)),
                        T(lib.atleast_3d(m)), T(lib.atleast_3d(s)),
                        [T(t) for t in lib.atleast_2d(s, v)], T(lib.atleast_1d(m))],
            "errors": [observe(lambda: lib.hstack([])), observe(lambda: lib.vstack([])),
                       observe(lambda: lib.column_stack([]))],
            "grad": grad_of(lib, lambda x: lib.vstack([x, x * 2]), [1.0, 2.0])}


@case("rot90")
def _(lib):
    x = lib.arange(6.0, dtype=lib.float64).reshape(2, 3)
    y = lib.arange(24.0, dtype=lib.float64).reshape(2, 3, 4)
    return [T(lib.rot90(x, k)) for k in (-1, 0, 1, 2, 3, 5)] + [
        T(x.rot90(1, [1, 0])), T(lib.rot90(y, 1, (2, 0))), T(lib.rot90(y, -2, [-1, -2])),
        observe(lambda: lib.rot90(lib.ones(2))), observe(lambda: lib.rot90(x, 1, [0, 1, 2])),
        observe(lambda: lib.rot90(x, 1, [1, -1])), observe(lambda: lib.rot90(x, 1, [0, 0])),
        observe(lambda: lib.rot90(x, 1, [0, 2])),
        grad_of(lib, lambda x: lib.rot90(x, 1), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        grad_of(lib, lambda x: lib.rot90(x, 2, [1, 0]), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])]


# ------------------------------------------------------------------------------------------------
# std_mean / var_mean, logspace, tril_indices / triu_indices, is_nonzero, dtype queries
# ------------------------------------------------------------------------------------------------
@case("std_var_mean")
def _(lib):
    x = f64(lib, [[1.0, 2.0, 4.0], [3.0, 5.0, 11.0]])
    return [[T(t) for t in lib.std_mean(x)], [T(t) for t in lib.std_mean(x, 1, False)],
            [T(t) for t in lib.var_mean(x, dim=0, correction=0, keepdim=True)],
            [T(t) for t in lib.std_mean(x, False)], [T(t) for t in lib.var_mean(x, (0, 1))],
            type(lib.std_mean(x)).__name__,
            grad_of(lib, lambda x: lib.stack(lib.var_mean(x, 1)), [[1.0, 2.0, 4.0], [3.0, 5.0, 11.0]])]


@case("logspace")
def _(lib):
    return [T(lib.logspace(0, 2, 3)), T(lib.logspace(0, 3, 4, base=2.0, dtype=lib.float64)),
            T(lib.logspace(-1.5, 1.5, 5, dtype=lib.float64)), T(lib.logspace(1, 0, 3, base=3)),
            T(lib.logspace(0, 1, 1)), T(lib.logspace(0, 1, 0)),
            T(lib.logspace(0.5, 2, 4, requires_grad=True)),
            observe(lambda: lib.logspace(0, 3, -1))]


@case("tri_indices")
def _(lib):
    return [T(lib.tril_indices(3, 2, 1)), T(lib.triu_indices(3, 3, -1)), T(lib.tril_indices(3, 3)),
            T(lib.triu_indices(2, 4, 2)), T(lib.tril_indices(0, 0)), T(lib.triu_indices(3, 3, 5)),
            T(lib.tril_indices(2, 2, dtype=lib.int32)),
            observe(lambda: lib.tril_indices(-1, 2)), observe(lambda: lib.triu_indices(2, -2))]


@case("is_nonzero")
def _(lib):
    return [lib.is_nonzero(lib.tensor([[0.5]])), lib.is_nonzero(lib.tensor(0)),
            lib.tensor([True]).is_nonzero(), lib.is_nonzero(f64(lib, NAN)),
            observe(lambda: lib.is_nonzero(lib.tensor([]))),
            observe(lambda: lib.is_nonzero(lib.tensor([1, 2])))]


DTYPES = ("float64", "float32", "int64", "int32", "bool")


@case("dtype_queries")
def _(lib):
    dts = [getattr(lib, n) for n in DTYPES]
    return {"can_cast": [[lib.can_cast(a, b) for b in dts] for a in dts],
            "promote_types": [[str(lib.promote_types(a, b)).split(".")[-1] for b in dts]
                              for a in dts],
            "result_type": [str(lib.result_type(*pair)).split(".")[-1] for pair in (
                (lib.tensor([1]), 1.0), (f64(lib, 1.0), lib.tensor([1], dtype=lib.int32)),
                (2, 3.0), (lib.tensor([True]), 5), (lib.tensor([1], dtype=lib.int32), lib.tensor(5)),
                (lib.tensor([1.0]), f64(lib, 2.0)), (True, False))]}


# ------------------------------------------------------------------------------------------------
# random functions: shapes, dtypes, supports and errors
# ------------------------------------------------------------------------------------------------
def _shape_dtype(t):
    return {"dtype": str(t.dtype).split(".")[-1], "shape": list(t.shape), "rg": t.requires_grad}


@case("random|shapes")
def _(lib):
    lib.manual_seed(0)
    p = lib.tensor([[0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    perm = lib.randperm(10)
    mn = lib.multinomial(p, 1)
    mnr = lib.multinomial(p[0], 5, replacement=True)
    nr = lib.multinomial(lib.tensor([1.0, 0.0, 3.0, 2.0]), 3)
    return {"randperm": [_shape_dtype(perm), sorted(perm.tolist()),
                         _shape_dtype(lib.randperm(3, dtype=lib.float32)),
                         _shape_dtype(lib.randperm(0))],
            "normal": [_shape_dtype(lib.normal(0.0, 1.0, (2, 3))),
                       _shape_dtype(lib.normal(f64(lib, [[0.0], [1.0]]), lib.ones(3, dtype=lib.float64))),
                       _shape_dtype(lib.normal(lib.zeros(2), 2.0)),
                       _shape_dtype(lib.normal(1.0, f64(lib, [1.0, 2.0]))),
                       _shape_dtype(lib.normal(lib.zeros(2, requires_grad=True), 1.0)),
                       T(lib.normal(f64(lib, [3.0, -1.0]), 0.0)),
                       _shape_dtype(lib.normal(2.0, 3.0, size=(4,), dtype=lib.float64))],
            "bernoulli": [T(lib.bernoulli(lib.tensor([0.0, 1.0, 1.0, 0.0]))),
                          T(lib.bernoulli(f64(lib, [[1.0], [0.0]]))),
                          T(lib.bernoulli(lib.zeros(3), 1.0)), T(lib.zeros(2).bernoulli(0.0)),
                          _shape_dtype(lib.bernoulli(lib.full((2,), 0.5, requires_grad=True)))],
            "multinomial": [T(mn), _shape_dtype(mnr), set(mnr.tolist()) == {1},
                            _shape_dtype(nr), sorted(nr.tolist()),
                            T(lib.tensor([0.0, 0.0, 5.0]).multinomial(1))]}


@case("random|errors")
def _(lib):
    return [observe(lambda: lib.normal(lib.zeros(2), -1.0)),
            observe(lambda: lib.normal(lib.zeros(2), -lib.ones(2))),
            observe(lambda: lib.normal(0.0, -0.5, (2,))),
            observe(lambda: lib.normal(0.0, 1.0)),
            observe(lambda: lib.bernoulli(lib.tensor([1.5]))),
            observe(lambda: lib.bernoulli(lib.tensor([1, 0]))),
            observe(lambda: lib.multinomial(lib.ones(1, 1, 2), 1)),
            observe(lambda: lib.multinomial(lib.ones(2), 0)),
            observe(lambda: lib.multinomial(lib.ones(2), 3)),
            observe(lambda: lib.multinomial(lib.tensor([1.0, -1.0]), 1)),
            observe(lambda: lib.multinomial(lib.tensor([0.0, 0.0]), 1)),
            observe(lambda: lib.multinomial(lib.tensor([1.0, 0.0, 0.0]), 2)),
            observe(lambda: lib.multinomial(lib.tensor([1, 2]), 1)),
            observe(lambda: lib.multinomial(lib.tensor([1.0, INF]), 1)),
            observe(lambda: lib.randperm(-1))]


@case("random|zero_grad")
def _(lib):
    m = f64(lib, [0.0, 1.0], True)
    s = f64(lib, [1.0, 2.0], True)
    lib.normal(m, s).sum().backward()
    p = f64(lib, [0.3, 0.7], True)
    lib.bernoulli(p).sum().backward()
    return [T(m.grad), T(s.grad), T(p.grad)]


# ------------------------------------------------------------------------------------------------
# out=
# ------------------------------------------------------------------------------------------------
def _out_call(lib, name: str):
    x = f64(lib, [[1.0, 4.0], [9.0, 16.0]])
    calls = {
        "add": lambda o: lib.add(x, 1, out=o), "sub": lambda o: lib.sub(x, x, alpha=2, out=o),
        "mul": lambda o: lib.mul(x, 2, out=o), "div": lambda o: lib.div(x, 4, out=o),
        "matmul": lambda o: lib.matmul(x, x, out=o), "mm": lambda o: lib.mm(x, x.t(), out=o),
        "cat": lambda o: lib.cat([x, x], 1, out=o), "stack": lambda o: lib.stack([x, x], out=o),
        "sum": lambda o: lib.sum(x, 0, out=o), "mean": lambda o: lib.mean(x, 1, out=o),
        "exp": lambda o: lib.exp(x, out=o), "log": lambda o: lib.log(x, out=o),
        "sqrt": lambda o: lib.sqrt(x, out=o), "clamp": lambda o: lib.clamp(x, 2, 10, out=o),
        "clip": lambda o: lib.clip(x, 2, 10, out=o),
        "where": lambda o: lib.where(x > 5, x, f64(lib, 0.0), out=o),
        "pow": lambda o: lib.pow(x, 0.5, out=o), "maximum": lambda o: lib.maximum(x, x.t(), out=o),
        "cumsum": lambda o: lib.cumsum(x, 1, out=o), "abs": lambda o: lib.abs(-x, out=o),
        "concat": lambda o: lib.concat([x, x], out=o), "outer": lambda o: lib.outer(x[0], x[1], out=o),
        "square": lambda o: lib.square(x, out=o), "cross": lambda o: lib.cross(
            f64(lib, [1.0, 2.0, 3.0]), f64(lib, [0.0, 1.0, 0.0]), dim=0, out=o),
        "kron": lambda o: lib.kron(x, x, out=o), "diff": lambda o: lib.diff(x, out=o),
        "nan_to_num": lambda o: lib.nan_to_num(x, out=o), "hstack": lambda o: lib.hstack([x, x], out=o),
        "zeros": lambda o: lib.zeros(2, 3, out=o), "ones": lambda o: lib.ones(2, out=o),
        "arange": lambda o: lib.arange(5, out=o), "full": lambda o: lib.full((2,), 3.0, out=o),
        "linspace": lambda o: lib.linspace(0, 1, 5, out=o), "eye": lambda o: lib.eye(2, out=o),
        "logspace": lambda o: lib.logspace(0, 2, 3, out=o),
    }
    return calls[name]


OUT_NAMES = ("add", "sub", "mul", "div", "matmul", "mm", "cat", "stack", "sum", "mean", "exp",
             "log", "sqrt", "clamp", "clip", "where", "pow", "maximum", "cumsum", "abs", "concat",
             "outer", "square", "cross", "kron", "diff", "nan_to_num", "hstack", "zeros", "ones",
             "arange", "full", "linspace", "eye", "logspace")


for _name in OUT_NAMES:
    @case(f"out|{_name}")
    def _(lib, name=_name):
        call = _out_call(lib, name)
        fresh = call(lib.empty(0, dtype=lib.float64))  # empty: resized silently
        same = lib.zeros(tuple(fresh.shape), dtype=lib.float64)
        r = call(same)
        wrong = warned(lambda: T(call(lib.zeros(7, dtype=lib.float64))))
        grad_out = observe(lambda: call(lib.zeros(tuple(fresh.shape), dtype=lib.float64,
                                                  requires_grad=True)))
        with lib.no_grad():
            nograd = observe(lambda: T(call(lib.zeros(tuple(fresh.shape), dtype=lib.float64,
                                                      requires_grad=True))))
        return {"fresh": T(fresh), "same": T(same), "returned_out": r is same,
                # (torch's kron writes its out through a view: the version stays 0)
                "version": same._version if name != "kron" else None,
                "wrong_shape": wrong, "out_requires_grad": grad_out,
                "no_grad": nograd}


@case("out|semantics")
def _(lib):
    x = lib.tensor([1.0, 2.0])
    a = lib.zeros(2, dtype=lib.int64)
    b = lib.zeros(2, dtype=lib.float64)
    c = lib.zeros(4)
    view = c[1:3]
    lib.add(x, 1, out=view)
    ints = lib.zeros(3, dtype=lib.int64)
    return {"float_into_long": observe(lambda: lib.add(x, 1, out=a)),
            "float_into_double": T(lib.mul(x, 3, out=b)),
            "long_into_float": T(lib.add(lib.tensor([1, 2]), 1, out=lib.zeros(2))),
            "bool_into_long": T(lib.gt(x, 1.5, out=lib.zeros(2, dtype=lib.int64))),
            "long_into_bool": observe(lambda: lib.add(lib.tensor([1]), 1,
                                                      out=lib.zeros(1, dtype=lib.bool))),
            "into_view": T(c),
            "input_requires_grad": observe(lambda: lib.mul(x.requires_grad_(), 2,
                                                           out=lib.zeros(2))),
            "comparison_out_requires_grad": T(lib.gt(lib.tensor([1.0, 2.0]), 1.5,
                                                     out=lib.zeros(2, requires_grad=True))),
            "factory_dtype_from_out": T(lib.zeros(3, out=ints)),
            "factory_arange_from_out": T(lib.arange(3.0, out=lib.zeros(0, dtype=lib.int64))),
            "factory_dtype_mismatch": observe(lambda: lib.zeros(1, dtype=lib.float64,
                                                                out=lib.zeros(1))),
            "arange_resize": warned(lambda: T(lib.arange(3, out=lib.zeros(1, dtype=lib.int64)))),
            "expanded_out": observe(lambda: lib.add(lib.ones(2, 2), 1,
                                                    out=lib.zeros(2)[None].expand(2, 2)))}


# ------------------------------------------------------------------------------------------------
# torch-level names: legacy types, finfo/iinfo, devices, inference mode, print options, ...
# ------------------------------------------------------------------------------------------------
@case("legacy_types")
def _(lib):
    f = lib.FloatTensor(2, 3)
    return {"uninit": [str(f.dtype).split(".")[-1], list(f.shape)],
            "data": [T(lib.FloatTensor([1, 2])), T(lib.DoubleTensor([1.5])),
                     T(lib.LongTensor([1.7, -2.2])), T(lib.IntTensor([3])),
                     T(lib.BoolTensor([1, 0])), T(lib.FloatTensor())],
            "isinstance": [isinstance(lib.ones(1), lib.FloatTensor),
                           isinstance(lib.ones(1).double(), lib.FloatTensor),
                           isinstance(lib.ones(1).double(), lib.DoubleTensor),
                           isinstance(lib.tensor([1]), lib.LongTensor),
                           isinstance(lib.tensor([1], dtype=lib.int32), lib.IntTensor),
                           isinstance(lib.tensor([True]), lib.BoolTensor),
                           isinstance(3, lib.FloatTensor),
                           isinstance(lib.tensor(1.0, dtype=lib.float64, requires_grad=True) * 2,
                                      lib.DoubleTensor)],
            "repr": repr(lib.FloatTensor).replace("torch", "tapegrad"),
            "subclass": issubclass(lib.FloatTensor, lib.Tensor),
            "type": [lib.ones(1).type().replace("torch", "tapegrad"),
                     T(lib.ones(2).type(lib.DoubleTensor)),
                     lib.typename(lib.ones(1)).replace("torch", "tapegrad"),
                     lib.typename(3), lib.typename("s")]}


@case("finfo_iinfo")
def _(lib):
    def fi(d):
        f = lib.finfo(d) if d is not None else lib.finfo()
        return [repr(f), f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, f.resolution,
                f.dtype]

    def ii(d):
        i = lib.iinfo(d)
        return [repr(i), i.bits, i.max, i.min, i.dtype]
    return {"finfo": [fi(lib.float32), fi(lib.float64), fi(None)],
            "iinfo": [ii(lib.int32), ii(lib.int64)],
            "eq": lib.finfo(lib.float32) == lib.finfo(lib.float32),
            "errors": [observe(lambda: lib.finfo(lib.int64)), observe(lambda: lib.iinfo(lib.float32)),
                       observe(lambda: lib.iinfo(lib.bool))]}


@case("default_device")
def _(lib):
    lib.set_default_device("cpu")
    a = str(lib.get_default_device())
    lib.set_default_device(None)
    try:  # (torch accepts "cuda" here and raises when it is used; tapegrad raises at once)
        cuda = observe(lambda: (lib.set_default_device("cuda"), lib.get_default_device()))
    finally:
        lib.set_default_device(None)
    return [a, str(lib.get_default_device()), cuda]


@case("inference_mode")
def _(lib):
    seen = []
    with lib.inference_mode():
        x = lib.ones(1, requires_grad=True) * 2
        seen.append([lib.is_inference_mode_enabled(), lib.is_grad_enabled(), x.requires_grad])
        with lib.inference_mode(False):
            seen.append([lib.is_inference_mode_enabled(), lib.is_grad_enabled()])
    seen.append([lib.is_inference_mode_enabled(), lib.is_grad_enabled()])

    @lib.inference_mode()
    def f():
        return [lib.is_inference_mode_enabled(), lib.is_grad_enabled()]

    @lib.inference_mode
    def g():
        return lib.is_inference_mode_enabled()
    return seen + [f(), g(), lib.is_inference_mode_enabled()]


@case("printoptions")
def _(lib):
    try:
        return _printoptions(lib)
    finally:
        lib.set_printoptions(profile="default")


def _printoptions(lib):
    x = lib.tensor([1.23456, 2.0, -0.5])
    out = []
    lib.set_printoptions(precision=2)
    out.append(repr(x))
    lib.set_printoptions(profile="short")
    out.append(repr(lib.arange(10.0)))
    lib.set_printoptions(profile="default", threshold=5, edgeitems=1)
    out.append(repr(lib.arange(10.0)))
    lib.set_printoptions(profile="full")
    out.append(repr(lib.arange(1200)[-3:]))
    out.append(len(repr(lib.arange(1100))) > 5000)
    lib.set_printoptions(profile="default", linewidth=30)
    out.append(repr(lib.arange(12.0)))
    lib.set_printoptions(profile="default")
    out.append(repr(x))
    return out


@case("rng_state")
def _(lib):
    lib.manual_seed(5)
    a = lib.initial_seed()
    s = lib.get_rng_state()
    u = lib.rand(3)
    lib.set_rng_state(s)
    same = bool((lib.rand(3) == u).all())
    t = lib.seed()
    return [a, same, lib.initial_seed() == t, 0 <= t < 2 ** 64]


@case("threads")
def _(lib):
    n = lib.get_num_threads()
    lib.set_num_threads(1)
    one = lib.get_num_threads()
    lib.set_num_threads(n)
    return [one, lib.get_num_threads() == n, observe(lambda: lib.set_num_threads(0))]


@case("misc_api")
def _(lib):
    import numpy as np
    a = np.zeros(2)
    t = lib.asarray(a)
    a[0] = 3.0
    u = lib.ones(2)
    return {"asarray": [T(t), lib.asarray(u) is u, T(lib.asarray(u, dtype=lib.float64)),
                        T(lib.asarray([1, 2])), T(lib.asarray(3.5)),
                        T(lib.asarray([1.0, 2.0], requires_grad=True))],
            "frombuffer": T(lib.frombuffer(bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00"),
                                           dtype=lib.int32)),
            "is_floating_point": [lib.is_floating_point(u), lib.is_floating_point(lib.tensor([1]))],
            "placeholders": [repr(lib.strided).replace("torch", "tapegrad"),
                             repr(lib.contiguous_format).replace("torch", "tapegrad"),
                             repr(lib.preserve_format).replace("torch", "tapegrad"),
                             T(lib.zeros(2, layout=lib.strided)),
                             T(lib.empty_like(u, memory_format=lib.preserve_format).zero_()),
                             T(lib.ones_like(u, memory_format=lib.contiguous_format)),
                             T(u.clone(memory_format=lib.contiguous_format)),
                             T(u.contiguous(memory_format=lib.contiguous_format))]}


def run(lib, name: str):
    return observe(lambda: CASES[name](lib))


def cases() -> list:
    return [(name, (name,)) for name in CASES]
