"""Layer handlers: one file per layer kind, looked up by the kind the trace records.

To teach the engine a new layer, write a
:class:`LayerHandler` subclass and ``register_layer(MyHandler())``; handlers of the same torch
function are tried newest first (``match``), so a specific handler can take calls from a general
one.
"""
from typing import Dict, List

from .attention import MultiheadAttentionLayer
from .base import LayerHandler, scale_along, set_tensor
from .channel_param import ChannelParam
from .conv import LAYER_FIXED, Conv
from .depthwise import DepthwiseConv
from .grouped import GroupedConv, GroupedWithinConv
from .grn import GlobalResponseNormLayer
from .groupnorm import GroupNormLayer
from .layernorm import LayerNormLayer
from .linear import Linear
from .matmul import HeadMatMul, MatMul
from .norm import Norm

LAYERS: Dict[str, LayerHandler] = {}
_BY_FUNCTION: Dict[str, List[LayerHandler]] = {}


def register_layer(handler: LayerHandler, force: bool = False) -> LayerHandler:
    """Make ``handler`` the one for ``handler.kind`` and let it trace its functions."""
    if not handler.kind:
        raise ValueError(f'{type(handler).__name__} has no kind')
    if handler.kind in LAYERS and not force:
        raise KeyError(f'a layer handler for {handler.kind!r} exists; pass force=True to '
                       'replace it')
    old = LAYERS.get(handler.kind)
    LAYERS[handler.kind] = handler
    for fn in handler.functions:
        handlers = [h for h in _BY_FUNCTION.get(fn, []) if h is not old]
        _BY_FUNCTION[fn] = [handler] + handlers
    return handler


def unregister_layer(kind: str) -> LayerHandler:
    """Remove the handler of ``kind`` (its functions fall back to the other handlers)."""
    handler = LAYERS.pop(kind)
    for fn in handler.functions:
        _BY_FUNCTION[fn] = [h for h in _BY_FUNCTION.get(fn, []) if h is not handler]
    return handler


def handler_of(kind: str) -> LayerHandler:
    """The handler of a recorded layer kind."""
    try:
        return LAYERS[kind]
    except KeyError:
        raise KeyError(f'no layer handler for kind {kind!r}; known: {sorted(LAYERS)}') from None


def handlers_for(function: str) -> List[LayerHandler]:
    """Handlers that may trace a torch function, in the order they are tried."""
    return _BY_FUNCTION.get(function, [])


# Built-in handlers; later ones are tried first for a shared function, so the general dense
# conv is the fallback of the grouped and depthwise ones.
# GroupedWithinConv traces nothing: ChannelGraph.finalize gives grouped convs its kind.
for _handler in (Conv(), GroupedConv(), GroupedWithinConv(), DepthwiseConv(), Linear(), Norm(),
                 GroupNormLayer(), LayerNormLayer(), GlobalResponseNormLayer(), MatMul(),
                 HeadMatMul(), MultiheadAttentionLayer(), ChannelParam(), LAYER_FIXED):
    register_layer(_handler)

__all__ = ['ChannelParam', 'LayerHandler', 'set_tensor', 'scale_along', 'LAYERS', 'register_layer',
           'unregister_layer', 'handler_of', 'handlers_for', 'Conv', 'DepthwiseConv',
           'GlobalResponseNormLayer', 'GroupedConv', 'GroupedWithinConv', 'GroupNormLayer',
           'LayerNormLayer', 'Linear', 'HeadMatMul', 'MatMul', 'MultiheadAttentionLayer', 'Norm']
