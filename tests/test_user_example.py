"""The README's example: a user's own function property-tested in five lines."""
from hypothesis import given, settings

from tapegrad.testing import assert_gradients_close
from tapegrad.testing.strategies import tensors


@settings(deadline=None)   # the first example may compile kernels
@given(tensors())
def test_my_function(x):
    assert_gradients_close(lambda x: (x.sin() * x.exp()).sum(), x)
