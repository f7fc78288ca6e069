"""Make MMEngine checkpoints loadable under torch's safe (``weights_only``) unpickler.

torch>=2.6 loads with ``weights_only=True``. MMEngine 0.10.7 checkpoints keep the message hub's
``HistoryBuffer`` objects and numpy arrays/scalars in ``message_hub``, so ``--resume`` fails with
``UnpicklingError: Unsupported global``. Safety stays on; instead:

* exactly those types are added to torch's allowlist, and
* a ``HistoryBuffer`` is pickled without its table of the four built-in statistics methods
  (``min``/``max``/``current``/``mean``), which pickle can only name through the builtin
  ``getattr`` -- allowlisting that would let a checkpoint reach any attribute of any object.
  Every ``HistoryBuffer`` re-registers those four in ``__init__``, so nothing is lost.
"""
import copyreg

import numpy as np
import torch


def _numpy_globals():
    """numpy's reconstructors and dtype classes that pickled arrays and scalars refer to."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 moved np.core to np._core
    found = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype]
    # Pickled dtypes name their concrete class (numpy.dtypes.Float64DType, ...).
    found += [type(np.dtype(t)) for t in
              (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
               np.uint8, np.bool_)]
    return found


def mmengine_checkpoint_globals():
    """The non-tensor types an MMEngine 0.10 training checkpoint holds."""
    from mmengine.logging.history_buffer import HistoryBuffer

    return [HistoryBuffer, *_numpy_globals()]


def _reduce_history_buffer(buffer):
    from mmengine.logging.history_buffer import HistoryBuffer

    builtin = {name: getattr(HistoryBuffer, name) for name in ('min', 'max', 'current', 'mean')}
    state = dict(buffer.__dict__)
    methods = state.pop('statistics_methods', None) or {}
    custom = {k: v for k, v in methods.items() if builtin.get(k) is not v}
    if custom:  # user-registered statistics still travel (and need the full unpickler)
        state['statistics_methods'] = custom
    return copyreg.__newobj__, (HistoryBuffer,), state


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read MMEngine checkpoints (see module doc)."""
    from mmengine.logging.history_buffer import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch<2.4 loads full pickles by default and has no allowlist
        add(mmengine_checkpoint_globals())
