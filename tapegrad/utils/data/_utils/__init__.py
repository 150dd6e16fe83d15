"""Internals of `tapegrad.utils.data` under torch's module names (``_utils.collate``,
``_utils.fetch``, ``_utils.worker``)."""
from . import collate, fetch, worker  # noqa: F401
