"""Write stylised samples next to their inputs at validation and test: people look at style
transfer, they do not read it."""
import os
import os.path as osp

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from gdpseg.registry import HOOKS


def side_by_side(inp, out) -> np.ndarray:
    """(H, 2W, 3) uint8: the content image and its stylised version."""
    pair = [t.clamp(0, 255).byte().permute(1, 2, 0).numpy() for t in (inp, out)]
    return np.concatenate(pair, axis=1)


@HOOKS.register_module()
class StyleSamplesHook(Hook):
    """Save the first ``num_samples`` predictions of each validation and test as PNGs
    (content | stylised) under ``work_dir/style_samples/{iter_N,test}/`` and send them to the
    visualizer's backends.

    Args:
        num_samples: Images per evaluation.
        out_dir: Where test samples go instead (``tools/test.py --show-dir``).
    """

    priority = 'LOW'

    def __init__(self, num_samples: int = 4, out_dir=None):
        self.num_samples = int(num_samples)
        self.out_dir = out_dir
        self._saved = 0

    def _reset(self, runner):
        self._saved = 0

    before_val_epoch = _reset
    before_test_epoch = _reset

    def _save(self, runner, outputs, folder, step):
        if not is_main_process():
            return
        from PIL import Image

        os.makedirs(folder, exist_ok=True)
        for sample in outputs:
            if self._saved >= self.num_samples:
                return
            image = side_by_side(sample['input'], sample['output'])
            name = osp.splitext(osp.basename(sample.get('img_path', f'{self._saved}')))[0]
            Image.fromarray(image).save(osp.join(folder, f'{name}.png'))
            runner.visualizer.add_image(f'style_{name}', image, step=step)
            self._saved += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._save(runner, outputs or [],
                   osp.join(runner.work_dir, 'style_samples', f'iter_{runner.iter}'), runner.iter)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        folder = self.out_dir or osp.join(runner.work_dir, 'style_samples', 'test')
        self._save(runner, outputs or [], folder, 0)
