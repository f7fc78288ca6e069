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
import os

import numpy as np
import torch

from gdpseg.utils.errors import first_line


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


def _examples(keys, n=3):
    keys = sorted(keys)
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


def read_state_dict(path: str, what: str = '') -> dict:
    """The ``state_dict`` of a training checkpoint (or a bare state dict), loaded with
    ``weights_only=True``; a clear ``ValueError`` for anything else (prefixed with ``what``,
    e.g. ``'load_from'``, to say where the path came from)."""
    try:
        return _read_state_dict(path)
    except (ValueError, FileNotFoundError) as exc:
        if what:
            raise type(exc)(f'{what}: {exc}') from None
        raise


def _read_state_dict(path: str) -> dict:
    import pickle

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f'{path} is empty (0 bytes): a save that was cut short, or not a '
                         'checkpoint; use another checkpoint')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f'{path} is not a plain checkpoint: it needs full unpickling, which can run code, '
            f'so it is not loaded ({unpickling_reason(exc)}). For an export of tools/prune.py '
            'pass its directory or plan.json') from None
    except Exception as exc:  # noqa: BLE001  (truncated zips fail in many ways)
        raise ValueError(f'{path} is not a readable checkpoint (truncated, or not a file '
                         f'torch.save wrote): {first_line(exc)}') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or \
            not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path} holds no state_dict of tensors: it is not a model checkpoint')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def unpickling_reason(exc) -> str:
    """What torch's safe unpickler refused, without its advice to turn safety off."""
    for line in str(exc).splitlines():
        if 'GLOBAL' in line or 'Unsupported' in line:
            return line.strip().rstrip('.')
    return 'it holds objects other than tensors and plain containers'


def _is_baseline_of(model, state) -> bool:
    """The checkpoint holds exactly the task model of a GDP model, without gates."""
    arch = {k for k in model.state_dict() if k.startswith('architecture.')}
    keys = {k if k.startswith('architecture.') else 'architecture.' + k for k in state}
    return not any(k.startswith('gates.') for k in state) and keys == arch


def load_weights(model, path: str, state: dict = None, baseline: bool = False) -> None:
    """Load a checkpoint into ``model`` strictly, or raise a ``ValueError`` that summarises what
    does not fit (missing, unexpected and mis-shaped keys) and says what the file probably is.
    ``state``: the file's :func:`read_state_dict`, when the caller has read it already.
    ``baseline``: a checkpoint of the bare task model may start a pruning model (training's
    ``load_from``); otherwise, for a GDP model, it is refused as the wrong file."""
    state = read_state_dict(path) if state is None else state
    if not baseline and getattr(model, 'gates', None) is not None and \
            _is_baseline_of(model, state):
        raise ValueError(f'{path} is a baseline checkpoint (no GDP gates): train with GDP first '
                         f'(tools/train.py <..._gdp.py config> --cfg-options load_from={path}),'
                         ' or use the baseline config to evaluate it.')
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        shapes = [line.strip() for line in str(exc).splitlines() if 'size mismatch' in line]
        raise ValueError(
            f'{path} does not fit the model of this config: {len(shapes)} parameters have other '
            f'shapes (e.g. {"; ".join(shapes[:2])}). Was it trained with another config?'
        ) from None
    if not missing and not unexpected:
        return
    hint = 'Was it trained with another config?'
    if unexpected and any(k.startswith('gates.') for k in unexpected):
        hint = ('It is a GDP checkpoint: use its GDP config (model.type=GDPAlgorithm), or '
                'export it with tools/prune.py and evaluate the export.')
    parts = []
    if missing:
        parts.append(f'{len(missing)} keys of the model are missing ({_examples(missing)})')
    if unexpected:
        parts.append(f'{len(unexpected)} keys are not in the model ({_examples(unexpected)})')
    raise ValueError(f'{path} does not fit the model of this config: {"; ".join(parts)}. '
                     + hint)


def work_dir_checkpoints(work_dir: str, extra=()) -> list:
    """The ``iter_N.pth`` / ``epoch_N.pth`` checkpoints of a work dir (and ``extra`` files that
    exist), newest first by the number in their names."""
    import glob

    def step(path):
        digits = ''.join(c for c in os.path.basename(path) if c.isdigit())
        return int(digits) if digits else -1

    found = set(glob.glob(os.path.join(work_dir, 'iter_*.pth')) +
                glob.glob(os.path.join(work_dir, 'epoch_*.pth')))
    found |= {p for p in extra if p and os.path.isfile(p)}
    return sorted(found, key=step, reverse=True)
