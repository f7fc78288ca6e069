"""Small helpers shared by gdpseg's hooks and tools."""
from mmengine.model import is_model_wrapper


def unwrap_model(model):
    """The model inside a DDP (or other MMEngine) wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model


def get_gates(model):
    """The :class:`GateSet` of a (possibly DDP-wrapped) :class:`GDPAlgorithm`."""
    model = unwrap_model(model)
    gates = getattr(model, 'gates', None)
    if gates is None:
        raise TypeError(f'{type(model).__name__} has no GDP gates: wrap the task model in '
                        "model = dict(type='GDPAlgorithm', architecture=...)")
    return gates
