"""Inputs torch refuses: each case must raise torch's error (type and message), never answer.
Integer inputs to float-only ops and losses, matmul operands of different dtypes, devices this
machine does not have."""
from __future__ import annotations

from . import observe


def _F(lib):
    return lib.nn.functional


CASES = {
    # losses and float-only ops on integer inputs
    "nll_loss int input": lambda lib: _F(lib).nll_loss(lib.tensor([[1, 2]]), lib.tensor([0])),
    "nll_loss float target": lambda lib: _F(lib).nll_loss(lib.tensor([[0.0, 1.0]]),
                                                          lib.tensor([0.0])),
    "cross_entropy int input": lambda lib: _F(lib).cross_entropy(lib.tensor([[1, 2]]),
                                                                 lib.tensor([0])),
    "mse_loss int": lambda lib: _F(lib).mse_loss(lib.tensor([1, 2]), lib.tensor([1, 2])),
    "l1_loss int": lambda lib: _F(lib).l1_loss(lib.tensor([1, 2]), lib.tensor([1, 2])),
    "smooth_l1_loss int": lambda lib: _F(lib).smooth_l1_loss(lib.tensor([1, 2]),
                                                             lib.tensor([1, 2])),
    "binary_cross_entropy int": lambda lib: _F(lib).binary_cross_entropy(lib.tensor([1, 0]),
                                                                         lib.tensor([1, 0])),
    "binary_cross_entropy int target": lambda lib: _F(lib).binary_cross_entropy(
        lib.tensor([0.5, 0.5]), lib.tensor([1, 0])),
    "bce_with_logits int": lambda lib: _F(lib).binary_cross_entropy_with_logits(
        lib.tensor([1, 0]), lib.tensor([1, 0])),
    "softmax int": lambda lib: lib.tensor([1, 2]).softmax(0),
    "log_softmax int": lambda lib: lib.tensor([1, 2]).log_softmax(0),
    "mean int": lambda lib: lib.tensor([1, 2]).mean(),
    # matmul family with operands of different dtypes
    "int @ float (1-D)": lambda lib: lib.tensor([1, 2]) @ lib.tensor([1.0, 2.0]),
    "float @ int (2-D)": lambda lib: lib.tensor([[1.0, 2.0]]) @ lib.tensor([[1], [2]]),
    "float32 @ float64": lambda lib: lib.ones(1, 2) @ lib.ones(2, 1, dtype=lib.float64),
    "matrix @ int vector": lambda lib: lib.ones(2, 2) @ lib.ones(2, dtype=lib.int64),
    "vector @ int matrix": lambda lib: lib.ones(2) @ lib.ones(2, 2, dtype=lib.int64),
    "batched @ int matrix": lambda lib: lib.ones(2, 2, 2) @ lib.ones(2, 2, dtype=lib.int64),
    "batched @ int batched": lambda lib: lib.ones(2, 2, 2) @ lib.ones(2, 2, 2, dtype=lib.int64),
    "mm float32 float64": lambda lib: lib.mm(lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64)),
    "dot int float": lambda lib: lib.dot(lib.tensor([1, 2]), lib.tensor([1.0, 2.0])),
    "mv int float": lambda lib: lib.mv(lib.tensor([[1, 2]]), lib.tensor([1.0, 2.0])),
    "bmm int float": lambda lib: lib.bmm(lib.ones(1, 2, 2, dtype=lib.int64), lib.ones(1, 2, 2)),
    "linear float32 float64": lambda lib: _F(lib).linear(lib.ones(2, 2),
                                                         lib.ones(2, 2, dtype=lib.float64)),
    "int @ int": lambda lib: lib.tensor([[1, 2]]) @ lib.tensor([[1], [2]]),
    # integers no int64 holds
    "tensor [2**63]": lambda lib: lib.tensor([2 ** 63]),
    "tensor 2**63": lambda lib: lib.tensor(2 ** 63),
    "tensor [-2**63 - 1]": lambda lib: lib.tensor([-2 ** 63 - 1]),
    "tensor [1, 2**64]": lambda lib: lib.tensor([1, 2 ** 64]),
    "tensor [1.5, 2**63] (a float tensor)": lambda lib: lib.tensor([1.5, 2 ** 63]),
    "tensor [2**63] as float32": lambda lib: lib.tensor([2 ** 63], dtype=lib.float32),
    "tensor [2**31] as int32": lambda lib: lib.tensor([2 ** 31], dtype=lib.int32),
    "full 2**63": lambda lib: lib.full((2,), 2 ** 63),
    # devices
    "zeros cuda": lambda lib: lib.zeros(2, device="cuda"),
    "tensor cuda:0": lambda lib: lib.tensor([1.0], device="cuda:0"),
    "ones cpu": lambda lib: lib.ones(2, device="cpu"),
    "randn cuda": lambda lib: lib.randn(2, device="cuda"),
    "to cuda": lambda lib: lib.zeros(2).to("cuda"),
    "cuda()": lambda lib: lib.zeros(2).cuda(),
    "bad device string": lambda lib: lib.zeros(2, device="gpu"),
}


def run(lib, name: str):
    return observe(lambda: CASES[name](lib))


def cases() -> list:
    return [(name, (name,)) for name in CASES]
