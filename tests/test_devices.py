"""Devices as torch code on a CPU-only machine uses them (expected values: torch 2.13's CPU
build, by hand)."""
import pickle

import pytest

import tapegrad as torch


def test_a_tutorials_device_line_runs_and_tensors_are_on_the_cpu():
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.randn(3, device=dev).to(dev)
    assert x.device == dev and x.cpu().device == torch.device("cpu") and not x.is_cuda
    assert repr(x.device) == "device(type='cpu')" and str(x.device) == "cpu"


def test_device_objects_print_compare_and_hash_as_torch():
    assert repr(torch.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert repr(torch.device("cpu:0")) == "device(type='cpu', index=0)"
    assert str(torch.device("cuda:0")) == "cuda:0"
    d = torch.device("cpu")
    assert (d.type, d.index) == ("cpu", None)
    assert d != "cpu" and d != torch.device("cpu:0")            # torch: no string equality
    assert {d: 1}[torch.device("cpu")] == 1
    assert pickle.loads(pickle.dumps(torch.device("cuda", 2))) == torch.device("cuda:2")
    with pytest.raises(AttributeError, match="not writable"):
        d.type = "cuda"


def test_availability_queries_say_no_accelerator():
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    assert torch.backends.mps.is_available() is False
    assert torch.accelerator.is_available() is False
    assert torch.accelerator.current_accelerator() is None
    torch.cuda.manual_seed_all(0)  # ignored, as torch does without CUDA


@pytest.mark.parametrize("make, err, msg", [
    (lambda: torch.device("foo"), RuntimeError,
     "Expected one of cpu, cuda, .* device type at start of device string: foo"),
    (lambda: torch.device("cuda:1", 0), RuntimeError,
     "must not include an index because index was passed explicitly: cuda:1"),
    (lambda: torch.device("cuda:x"), RuntimeError, "Invalid device string: 'cuda:x'"),
    (lambda: torch.device("cuda", -1), RuntimeError, "Device index must not be negative"),
    (lambda: torch.device(0), RuntimeError, "Cannot access accelerator device"),
    (lambda: torch.zeros(2, device="cuda"), AssertionError, "Torch not compiled with CUDA"),
    (lambda: torch.zeros(2).to(torch.device("cuda")), AssertionError, "not compiled with CUDA"),
    (lambda: torch.ones(2, device="mps"), RuntimeError, "device 'mps' is not available"),
])
def test_a_device_that_is_not_there_raises_torchs_error(make, err, msg):
    with pytest.raises(err, match=msg):
        make()
