"""Reprs are identical to PyTorch 2.13's for the same values (expected strings were printed by
torch itself; only ``torch.`` in dtype names becomes ``tapegrad.``)."""
import pytest

import tapegrad as tg

TORCH_PRINTED = {
    "tg.tensor([1.5, 2.25, -3.125])": "tensor([ 1.5000,  2.2500, -3.1250])",
    "tg.tensor([[1., 2.], [3., 40.]])": "tensor([[ 1.,  2.],\n        [ 3., 40.]])",
    "tg.tensor([1e-5, 1.0])": "tensor([1.0000e-05, 1.0000e+00])",
    "tg.tensor([1e10, 1.0])": "tensor([1.0000e+10, 1.0000e+00])",
    "tg.tensor([1.5, 2.0], dtype=tg.float64)": "tensor([1.5000, 2.0000], dtype=torch.float64)",
    "tg.tensor([1, 2, 3])": "tensor([1, 2, 3])",
    "tg.tensor([1, -20], dtype=tg.int32)": "tensor([  1, -20], dtype=torch.int32)",
    "tg.tensor([True, False])": "tensor([ True, False])",
    "tg.tensor([])": "tensor([])",
    "tg.zeros(0, 3)": "tensor([], size=(0, 3))",
    "tg.tensor(3.5)": "tensor(3.5000)",
    "tg.tensor([float('nan'), float('inf'), 1.5])": "tensor([   nan,    inf, 1.5000])",
    "tg.tensor([float('nan'), 2.0])": "tensor([nan, 2.])",
    "tg.arange(30.) / 7": (
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
        "        3.8571, 4.0000, 4.1429])"),
    "tg.arange(2000.)": (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])"),
    "tg.arange(3000.).reshape(100, 30)": (
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01, 2.8000e+01,\n"
        "         2.9000e+01],\n"
        "        [3.0000e+01, 3.1000e+01, 3.2000e+01,  ..., 5.7000e+01, 5.8000e+01,\n"
        "         5.9000e+01],\n"
        "        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 8.7000e+01, 8.8000e+01,\n"
        "         8.9000e+01],\n"
        "        ...,\n"
        "        [2.9100e+03, 2.9110e+03, 2.9120e+03,  ..., 2.9370e+03, 2.9380e+03,\n"
        "         2.9390e+03],\n"
        "        [2.9400e+03, 2.9410e+03, 2.9420e+03,  ..., 2.9670e+03, 2.9680e+03,\n"
        "         2.9690e+03],\n"
        "        [2.9700e+03, 2.9710e+03, 2.9720e+03,  ..., 2.9970e+03, 2.9980e+03,\n"
        "         2.9990e+03]])"),
    "tg.arange(8.).reshape(2, 2, 2)": (
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"),
    "tg.tensor([-0.0, 0.0])": "tensor([-0., 0.])",
    "tg.tensor([-1., 2.])": "tensor([-1.,  2.])",
    "tg.tensor([0.001, 0.5, 123.25])": "tensor([1.0000e-03, 5.0000e-01, 1.2325e+02])",
    "tg.ones(2, dtype=tg.float64, requires_grad=True) * 2":
        "tensor([2., 2.], dtype=torch.float64, grad_fn=<MulBackward0>)",
    "tg.ones(2, 2, requires_grad=True)":
        "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)",
}


@pytest.mark.parametrize("expr", list(TORCH_PRINTED))
def test_repr_matches_torch(expr):
    assert repr(eval(expr)) == TORCH_PRINTED[expr].replace("torch.", "tapegrad.")


def test_str_and_format():
    x = tg.tensor(2.5)
    assert str(x) == "tensor(2.5000)"
    assert f"{x:.1f}" == "2.5"


def test_dtype_and_size_reprs():
    assert repr(tg.float64) == "tapegrad.float64"
    assert repr(tg.ones(2, 3).shape) == "tapegrad.Size([2, 3])"
    assert tg.ones(2, 3).shape == (2, 3)


def test_grad_fn_repr_and_name():
    y = tg.ones(2, requires_grad=True) + 2
    assert repr(y.grad_fn).startswith("<AddBackward0 object at 0x")
    assert y.grad_fn.name() == "AddBackward0"
    assert type(y.grad_fn).__name__ == "AddBackward0"


def test_query_methods_print_like_torch_builtins():
    x = tg.ones(2)
    assert repr(x.all).startswith("<built-in method all of Tensor object at 0x")


def test_readme_op_table_lists_exactly_the_registered_ops():
    import pathlib
    from tapegrad._opdef import op_table_markdown
    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("<!-- op-table:begin -->\n")[1].split("\n<!-- op-table:end -->")[0]
    assert table == op_table_markdown()
