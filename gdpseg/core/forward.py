"""How the engine runs a model: on a tuple of positional inputs, through the model's own call or
a ``forward_fn`` (for models not called as ``model(*inputs)``, e.g. an MMEngine model's tensor
mode)."""


def call_forward(model, inputs: tuple, forward_fn=None):
    """``forward_fn(model, inputs)``, or ``model(*inputs)`` without one."""
    return forward_fn(model, inputs) if forward_fn else model(*inputs)
