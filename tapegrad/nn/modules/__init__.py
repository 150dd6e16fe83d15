"""torch's layer classes (``tapegrad.nn.Linear``, ...), one module per kind, as torch's."""
from . import (activation, container, conv, dropout, flatten, linear, loss,  # noqa: I001
               module, normalization, pooling, sparse)
from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module, RemovableHandle  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403

__all__ = ["Module", *[n for m in (activation, container, conv, dropout, flatten, linear, loss,
                                   normalization, pooling, sparse) for n in m.__all__]]
