"""The examples in tapegrad's docstrings run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import tapegrad

MODULES = ["tapegrad"] + [m.name for m in pkgutil.walk_packages(tapegrad.__path__, "tapegrad.")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
