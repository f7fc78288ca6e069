"""Save torch's random state in checkpoints and restore it on resume."""
import torch
from mmengine.hooks import Hook

from gdpseg.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Checkpoints carry torch's CPU (and CUDA) random state, restored on ``--resume``, so
    dropout and other random ops continue as in an uninterrupted run. (MMEngine reseeds the data
    pipeline on resume, so a run with random augmentation is not bit-identical anyway.)"""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['rng'] = dict(
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint):
        # MMEngine calls this hook for ``load_from`` too (e.g. a GDP run starting from its
        # baseline): only a resumed run continues the saved random stream. The runner keeps
        # its resume flag private.
        if not getattr(runner, '_resume', False):
            return
        meta = checkpoint.get('meta', {})
        state = meta.get('rng')
        if state is None and 'torch_rng' in meta.get('gdp', {}):  # checkpoints of gdpseg 0.1
            state = dict(torch=meta['gdp']['torch_rng'], cuda=meta['gdp'].get('cuda_rng', []))
        if state is None:
            return
        torch.set_rng_state(state['torch'])
        if state.get('cuda') and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
