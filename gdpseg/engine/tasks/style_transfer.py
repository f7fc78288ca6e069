"""Style transfer (gdpseg's StyleTransferModel): image folders, style image and VGG weights are
checked before a run; content and style loss first."""
import os.path as osp

from gdpseg.datasets.find import datasets_of_type
from gdpseg.registry import TASKS

from .base import TaskAdapter


@TASKS.register_module()
class StyleTransferTask(TaskAdapter):
    name = 'style transfer'
    priority = 10
    headline = ('style/content_loss', 'style/style_loss', 'style/total_loss')

    def model_class(self):
        from gdpseg.models.style_transfer import StyleTransferModel

        return StyleTransferModel

    def check_data(self, dataloader_cfg) -> None:
        problems = []
        for ds in datasets_of_type(dataloader_cfg, 'ImageFolder'):
            root = ds.get('data_root', '')
            if not osp.isdir(root):
                problems.append(f'image folder {root} is missing')
        if problems:
            raise FileNotFoundError(
                'The dataset is incomplete:\n  - ' + '\n  - '.join(dict.fromkeys(problems)) +
                '\nContent images are any folder of images (default data/coco/train2014). For '
                'a dry run:\n  python -c "from gdpseg.datasets import make_sample_style_data; '
                'make_sample_style_data(\'data/sample_style\')"')

    def show(self, cfg, show_dir: str) -> None:
        """Every test image, next to its stylised version, into ``show_dir``."""
        cfg.default_hooks.visualization = dict(type='StyleSamplesHook', num_samples=10 ** 9,
                                               out_dir=show_dir)
