"""`tapegrad.nn`: torch's layers (`Module`, `Linear`, `Conv2d`, ... in ``nn.modules``),
`Parameter`, the functional forms (``nn.functional``), initialisers (``nn.init``) and helpers
(``nn.utils``)."""
from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter  # noqa: F401
