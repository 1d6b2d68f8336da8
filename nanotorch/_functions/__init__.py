"""More ``nanotorch.*`` tensor functions (also Tensor methods through the registry), one
module per theme; ``functions.py`` re-exports them."""
from .. import linalg  # noqa: F401  (nanotorch.linalg)
from .cumulative import *  # noqa: F401,F403
from .cumulative import __all__ as _cumulative
from .einsum import *  # noqa: F401,F403
from .einsum import __all__ as _einsum
from .norms import *  # noqa: F401,F403
from .norms import __all__ as _norms
from .order import *  # noqa: F401,F403
from .order import __all__ as _order
from .pointwise import *  # noqa: F401,F403
from .pointwise import __all__ as _pointwise
from .scatter import *  # noqa: F401,F403
from .scatter import __all__ as _scatter
from .shape import *  # noqa: F401,F403
from .shape import __all__ as _shape

__all__ = _cumulative + _einsum + _norms + _order + _pointwise + _scatter + _shape
