"""tapegrad.serialization: save/load round trips, shared memory, the pickle-free format, errors.
"""
from __future__ import annotations

import collections
import io
import json
import math
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad
from tapegrad.nn.parameter import Parameter
from tapegrad.serialization import load, save

DTYPES = [np.float32, np.float64, np.int64, np.bool_, np.int32]


def _roundtrip(obj, **load_kw):
    buf = io.BytesIO()
    save(obj, buf)
    return load(io.BytesIO(buf.getvalue()), **load_kw)


def _archive(obj) -> zipfile.ZipFile:
    buf = io.BytesIO()
    save(obj, buf)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


def _structure(obj) -> dict:
    return json.loads(_archive(obj).read("data.json"))


# -- hypothesis: nested structures of tensors --------------------------------------------------

@st.composite
def _tensors(draw):
    dt = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    arr = draw(hnp.arrays(dt, shape, elements=hnp.from_dtype(np.dtype(dt), allow_nan=True,
                                                               allow_infinity=True)
                          if dt in (np.float32, np.float64) else None))
    t = tapegrad.from_numpy(arr.copy())
    if dt in (np.float32, np.float64) and draw(st.booleans()):
        t.requires_grad_(True)
    if draw(st.integers(0, 5)) == 0:
        t = Parameter(t, requires_grad=bool(t.requires_grad))
    return t


_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=5)
            | st.floats(allow_nan=True, allow_infinity=True))
_keys = st.text(max_size=4) | st.integers(-5, 5) | st.tuples(st.integers(0, 3), st.text(max_size=2))


def _nest(children):
    return (st.lists(children, max_size=4)
            | st.lists(children, max_size=4).map(tuple)
            | st.dictionaries(_keys, children, max_size=4)
            | st.dictionaries(_keys, children, max_size=4).map(collections.OrderedDict)
            | st.lists(st.integers(0, 5), max_size=3).map(tapegrad.Size))


_objects = st.recursive(_scalars | _tensors(), _nest, max_leaves=12)


def _same(a, b, path="root") -> None:
    """Equal structure, exact types, tensor dtype/shape/values/requires_grad/class."""
    assert type(a) is type(b) or (isinstance(a, tapegrad.Tensor) and isinstance(b, tapegrad.Tensor)
                                  and type(b).__name__ == type(a).__name__), path
    if isinstance(a, tapegrad.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert a.requires_grad == b.requires_grad, path
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=path)
        return
    if isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                      math.copysign(1, b)), path
        return
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
        return
    assert a == b, path


@given(_objects)
def test_round_trip_nested(obj):
    _same(obj, _roundtrip(obj))


@given(st.lists(_tensors(), min_size=1, max_size=4))
def test_round_trip_keeps_identity_of_repeated_tensors(ts):
    obj = {"a": ts, "b": list(reversed(ts))}
    out = _roundtrip(obj)
    assert all(x is y for x, y in zip(out["a"], reversed(out["b"])))
    assert len({id(t) for t in out["a"]}) == len({id(t) for t in ts})


def test_format_has_no_pickle_and_strict_json():
    obj = {"w": tapegrad.ones(2, 3), "nan": math.nan, "inf": -math.inf, 3: (1, None)}
    zf = _archive(obj)
    assert sorted(zf.namelist()) == ["data.json", "storages/0.npy"]

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    json.loads(zf.read("data.json"), parse_constant=refuse)
    arr = np.load(io.BytesIO(zf.read("storages/0.npy")), allow_pickle=False)
    assert arr.dtype == np.float32 and arr.shape == (2, 3)
    out = _roundtrip(obj)
    assert math.isnan(out["nan"]) and out["inf"] == -math.inf and out[3] == (1, None)


# -- files ------------------------------------------------------------------------------------

def test_paths_and_file_objects(tmp_path):
    obj = collections.OrderedDict(w=tapegrad.arange(4.0), step=7)
    for target in (str(tmp_path / "a.pt"), tmp_path / "b.pt"):
        save(obj, target)
        out = load(target)
        assert isinstance(out, collections.OrderedDict) and out["step"] == 7
        assert out["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    with open(tmp_path / "c.pt", "wb") as fh:
        save(obj, fh)
        assert not fh.closed
    with open(tmp_path / "c.pt", "rb") as fh:
        assert load(fh)["step"] == 7
        assert not fh.closed


def test_many_tensors_and_a_large_one():
    sd = {f"layer{i}.weight": tapegrad.randn(3, i + 1) for i in range(30)}
    sd["big"] = tapegrad.zeros(300, 1000)
    out = _roundtrip(sd)
    assert list(out) == list(sd)
    for k in sd:
        assert out[k].tolist() == sd[k].tolist()


# -- shared memory --------------------------------------------------------------------------

def test_view_and_base_share_memory_after_load():
    a = tapegrad.arange(6.0).reshape(2, 3)
    base, row, col_t, again = _roundtrip([a, a[1], a.t(), a])
    assert base is again
    assert col_t.stride() == (1, 3) and not col_t.is_contiguous()
    base.add_(10)
    assert row.tolist() == [13.0, 14.0, 15.0]
    assert col_t.tolist() == [[10.0, 13.0], [11.0, 14.0], [12.0, 15.0]]
    row.mul_(0)
    assert base.tolist() == [[10.0, 11.0, 12.0], [0.0, 0.0, 0.0]]


def test_view_alone_saves_its_whole_base_like_torch():
    a = tapegrad.arange(6.0)
    s = _structure([a[4:]])
    assert s["storages"] == 1 and s["tensors"][0]["offset"] == 4 * 4
    (v,) = _roundtrip([a[4:]])
    assert v.tolist() == [4.0, 5.0]


def test_unrelated_tensors_do_not_share():
    a, b = tapegrad.ones(3), tapegrad.ones(3)
    s = _structure([a, b, a])
    assert s["storages"] == 2
    x, y, _ = _roundtrip([a, b, a])
    x.add_(1)
    assert y.tolist() == [1.0, 1.0, 1.0]


def test_parameter_and_its_detach_share_memory():
    p = Parameter(tapegrad.ones(2, 2))
    frozen = Parameter(tapegrad.zeros(2), requires_grad=False)
    out = _roundtrip({"p": p, "p.detach": p.detach(), "frozen": frozen})
    assert type(out["p"]) is Parameter and out["p"].requires_grad
    assert type(out["frozen"]) is Parameter and not out["frozen"].requires_grad
    assert type(out["p.detach"]) is tapegrad.Tensor and not out["p.detach"].requires_grad
    with tapegrad.no_grad():
        out["p.detach"].add_(1)
    assert out["p"].tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_state_dict_like_round_trip_and_metadata():
    sd = collections.OrderedDict()
    sd["fc.weight"] = Parameter(tapegrad.randn(3, 2)).detach()
    sd["fc.bias"] = Parameter(tapegrad.zeros(3)).detach()
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    out = _roundtrip(sd)
    assert list(out) == ["fc.weight", "fc.bias"] and out._metadata == sd._metadata
    assert out["fc.weight"].tolist() == sd["fc.weight"].tolist()


def test_non_leaf_loads_as_leaf_requiring_grad():
    x = tapegrad.ones(3, requires_grad=True)
    y = _roundtrip(x * 2)
    assert y.is_leaf and y.requires_grad and y.tolist() == [2.0, 2.0, 2.0]
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0, 1.0]


def test_empty_and_zero_dim_tensors():
    e, z, b = _roundtrip([tapegrad.zeros(0, 3), tapegrad.tensor(2.5), tapegrad.tensor(True)])
    assert e.shape == (0, 3) and z.shape == () and z.item() == 2.5 and b.item() is True


def test_dtype_device_size_objects():
    obj = [tapegrad.float64, tapegrad.int64, tapegrad.bool, tapegrad.device("cpu"),
           tapegrad.Size([2, 3])]
    out = _roundtrip(obj)
    assert out[:3] == [tapegrad.float64, tapegrad.int64, tapegrad.bool]
    assert out[3] == tapegrad.device("cpu") and type(out[4]) is tapegrad.Size


# -- objects outside the format: pickled, refused by default -----------------------------------

class _Custom:
    def __init__(self, v):
        self.v = v


def test_other_objects_need_weights_only_false():
    obj = {"cfg": _Custom(3), "arr": np.arange(3), "w": tapegrad.ones(1)}
    buf = io.BytesIO()
    save(obj, buf)
    with pytest.raises(TypeError, match=r"weights_only=True refuses objects of type "
                                        r"tests\.test_serialization\._Custom, "
                                        r"numpy\.ndarray \("):
        load(io.BytesIO(buf.getvalue()))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        load(io.BytesIO(buf.getvalue()), weights_only=True)
    out = load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert out["cfg"].v == 3 and out["arr"].tolist() == [0, 1, 2] and out["w"].tolist() == [1.0]


def test_subclass_containers_are_pickled():
    dd = collections.defaultdict(list, a=[1])
    with pytest.raises(TypeError, match="collections.defaultdict"):
        _roundtrip(dd)
    out = _roundtrip(dd, weights_only=False)
    assert type(out) is collections.defaultdict and out["a"] == [1]


def test_cycle_is_refused():
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, io.BytesIO())


def test_shared_containers_are_saved_by_value():
    inner = [tapegrad.ones(1)]
    a, b = _roundtrip([inner, inner])
    assert a is not b and a[0] is b[0]


# -- map_location ---------------------------------------------------------------------------

@pytest.mark.parametrize("ml", [None, "cpu", "cpu:0", tapegrad.device("cpu"), {"cuda:0": "cpu"},
                                {"cpu": "cpu"}])
def test_map_location_cpu(ml):
    assert _roundtrip(tapegrad.ones(2), map_location=ml).tolist() == [1.0, 1.0]


def test_map_location_callable():
    seen = []

    def fn(t, loc):
        seen.append(loc)
        return t * 2
    out = _roundtrip([tapegrad.ones(2), tapegrad.ones(1)], map_location=fn)
    assert seen == ["cpu", "cpu"] and out[0].tolist() == [2.0, 2.0]
    assert _roundtrip(tapegrad.ones(1), map_location=lambda s, loc: None).tolist() == [1.0]
    with pytest.raises(TypeError, match="map_location returned int"):
        _roundtrip(tapegrad.ones(1), map_location=lambda s, loc: 3)


@pytest.mark.parametrize("ml, err, msg", [
    ("cuda", AssertionError, "Torch not compiled with CUDA enabled"),
    (tapegrad.device("cuda", 0), AssertionError, "Torch not compiled with CUDA enabled"),
    ({"cpu": "cuda:0"}, AssertionError, "Torch not compiled with CUDA enabled"),
    ("mps", RuntimeError, "device 'mps' is not available"),
    ("xyz", RuntimeError, "Expected one of cpu, cuda"),
])
def test_map_location_other_device(ml, err, msg):
    with pytest.raises(err, match=msg):
        _roundtrip(tapegrad.ones(1), map_location=ml)


# -- files that are not tapegrad's ----------------------------------------------------------

def test_not_a_zip(tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(RuntimeError, match="not a file written by tapegrad.save"):
        load(path)


def test_torch_style_archive_is_named():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(RuntimeError, match="written by torch.save"):
        load(io.BytesIO(buf.getvalue()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("other.txt", b"")
    with pytest.raises(RuntimeError, match="no data.json"):
        load(io.BytesIO(buf.getvalue()))


def test_wrong_version_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data.json", json.dumps({"format": "tapegrad.save", "version": 99}))
    with pytest.raises(RuntimeError, match="version 1"):
        load(io.BytesIO(buf.getvalue()))


def test_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


def test_same_bytes_for_same_object():
    def dump(obj):
        buf = io.BytesIO()
        save(obj, buf)
        z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
        return [z.read(n) for n in sorted(z.namelist())]
    a = {"w": tapegrad.arange(3.0)}
    assert dump(a) == dump({"w": tapegrad.arange(3.0)})


def test_module_and_optimizer_checkpoint():
    if not hasattr(tapegrad.nn, "Linear"):
        pytest.skip("tapegrad.nn has no Linear yet")
    optim = pytest.importorskip("tapegrad.optim")
    nn = tapegrad.nn

    def make():
        return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    model = make()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(tapegrad.ones(4, 3)).sum().backward()
    opt.step()
    ckpt = _roundtrip({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3})
    model2 = make()
    model2.load_state_dict(ckpt["model"])
    assert all(a.tolist() == b.tolist() for a, b in zip(model.parameters(), model2.parameters()))
    assert sorted(ckpt["opt"]["state"]) == [0, 1, 2, 3]  # (int keys survive)
    opt2 = optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(ckpt["opt"])
    with pytest.raises(TypeError, match="container.Sequential"):
        _roundtrip(model)
    whole = _roundtrip(model, weights_only=False)
    assert whole(tapegrad.ones(1, 3)).tolist() == model(tapegrad.ones(1, 3)).tolist()
