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


def gate_lr(optim_wrapper, gates) -> float:
    """Current learning rate of the parameter group holding the gates."""
    ids = {id(p) for p in gates.parameters()}
    for group in optim_wrapper.optimizer.param_groups:
        if any(id(p) in ids for p in group['params']):
            return float(group['lr'])
    raise ValueError('the optimizer has no gate parameters; build it with '
                     "constructor='GDPOptimWrapperConstructor' (gdpseg scope)")
