"""Image classification (mmpretrain classifiers): CIFAR-10 / ImageNet data checks, top-1/top-5
first, drawn predictions."""
import os.path as osp

from gdpseg.datasets.find import datasets_of_type
from gdpseg.registry import TASKS

from .base import TaskAdapter

IMAGENET_HELP = ('ImageNet is expected as class folders: DATA_ROOT/train/<class>/*.JPEG and '
                 'DATA_ROOT/val/<class>/*.JPEG (the layout of PyTorch\'s ImageNet example; '
                 'mmpretrain reads it without annotation files).')


@TASKS.register_module()
class ClassificationTask(TaskAdapter):
    name = 'classification'
    priority = 10
    draw_types = ('mmpretrain.VisualizationHook', 'mmpretrain.UniversalVisualizer')
    draw_options = dict(enable=True)
    headline = ('accuracy/top1', 'accuracy/top5')

    def model_class(self):
        from mmpretrain.models.classifiers.base import BaseClassifier

        return BaseClassifier

    def labels(self, data_sample, model=None):
        label = getattr(data_sample, 'gt_label', None)
        return None if label is None else (label, None)

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets.cifar import CIFAR_HELP, missing_cifar_files

        problems, helps = [], []
        for kind in ('CIFAR10Local', 'CIFAR10'):
            for ds in datasets_of_type(dataloader_cfg, kind):
                if kind == 'CIFAR10' and ds.get('download', True):
                    raise ValueError('the config lets mmpretrain download CIFAR-10 '
                                     "(CIFAR10 with download=True): use type='CIFAR10Local' "
                                     'with files in place')
                missing = missing_cifar_files(ds.get('data_root', ''))
                if missing:
                    problems += [f'{m} is missing' for m in missing]
                    helps.append(CIFAR_HELP)
        for kind in ('ImageNet', 'CustomDataset'):
            for ds in datasets_of_type(dataloader_cfg, kind):
                root = ds.get('data_root', '') or ''
                prefix = ds.get('data_prefix', '')
                prefix = prefix.get('img_path', prefix.get('root', '')) \
                    if isinstance(prefix, dict) else prefix
                folder = osp.join(root, prefix or ds.get('split', '') or '')
                ann = ds.get('ann_file', '')
                if ann and not osp.isfile(osp.join(root, ann)):
                    problems.append(f'annotation file {osp.join(root, ann)} is missing')
                if not osp.isdir(folder):
                    problems.append(f'image folder {folder} is missing')
                    helps.append(IMAGENET_HELP)
        if problems:
            raise FileNotFoundError('The dataset is incomplete:\n  - ' +
                                    '\n  - '.join(dict.fromkeys(problems)) + '\n' +
                                    '\n'.join(dict.fromkeys(helps)))
