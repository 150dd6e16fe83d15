"""`tapegrad.utils`: torch's ``torch.utils`` helpers (``tapegrad.utils.data``: datasets and
loaders)."""
from . import data  # noqa: F401
