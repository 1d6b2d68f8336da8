"""More ``nanotorch.*`` tensor functions (also Tensor methods through the registry), one
module per theme; ``functions.py`` re-exports them."""
from .cumulative import *  # noqa: F401,F403
from .cumulative import __all__ as _cumulative
from .einsum import *  # noqa: F401,F403
from .einsum import __all__ as _einsum
from .scatter import *  # noqa: F401,F403
from .scatter import __all__ as _scatter

__all__ = _cumulative + _einsum + _scatter
