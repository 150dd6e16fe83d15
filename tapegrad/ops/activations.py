"""Activation functions (also exposed in `tapegrad.nn.functional`)."""
from __future__ import annotations

__all__: list = []
METHODS: dict = {}
