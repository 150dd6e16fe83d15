"""Indexing ops beyond basic slicing (advanced indexing, gather/scatter, masks)."""
from __future__ import annotations

__all__: list = []
METHODS: dict = {}
