"""`tapegrad.nn`: functional building blocks for models (``tapegrad.nn.functional``)."""
from . import functional  # noqa: F401
