"""CIFAR-10 from local python batches, never downloaded: mmpretrain's reader with its checks
turned into errors and warnings that say what to do."""
import os.path as osp

from mmengine.logging import print_log
from mmpretrain.datasets import CIFAR10

from gdpseg.registry import DATASETS

CIFAR_HELP = ('CIFAR-10 is expected in its python layout: DATA_ROOT/cifar-10-batches-py/'
              '{data_batch_1..5, test_batch, batches.meta} (extract cifar-10-python.tar.gz from '
              'https://www.cs.toronto.edu/~kriz/cifar.html there). For a dry run without it:\n'
              '  python -c "from gdpseg.datasets import make_digits_cifar; '
              'make_digits_cifar(\'data/digits_cifar\')"')
FILES = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5',
         'test_batch', 'batches.meta']


def missing_cifar_files(data_root: str):
    """The CIFAR-10 files absent from ``data_root`` (paths)."""
    folder = osp.join(data_root or '', 'cifar-10-batches-py')
    return [osp.join(folder, f) for f in FILES if not osp.isfile(osp.join(folder, f))]


@DATASETS.register_module()
class CIFAR10Local(CIFAR10):
    """mmpretrain's ``CIFAR10`` that never downloads. A missing file raises an error
    naming it and the expected layout; files whose checksums differ from the published
    ones (a subset, a conversion, the digits stand-in) load with one warning.

    Args:
        data_root: Folder holding ``cifar-10-batches-py``.
        split: ``'train'`` or ``'test'``.
        **kwargs: As mmpretrain's ``CIFAR10`` (pipeline, metainfo, ...), but no
            ``download``.
    """

    def __init__(self, data_root: str = '', split: str = 'train', **kwargs):
        if kwargs.pop('download', False):
            raise ValueError('CIFAR10Local never downloads; put the files in place '
                             '(see the error a missing file gives)')
        super().__init__(data_root=data_root, split=split, download=False, **kwargs)

    def _check_integrity(self):
        if getattr(self, '_checked', False):  # mmpretrain checks twice: warn once
            return True
        root = self.data_prefix['root']
        missing = missing_cifar_files(root)
        if missing:
            raise FileNotFoundError(f'CIFAR-10 files are missing: {", ".join(missing)}.\n'
                                    + CIFAR_HELP)
        if not super()._check_integrity():
            print_log(f'CIFAR-10 files in {root} differ from the published ones '
                      '(checksums): a subset or conversion? Loading them anyway.',
                      logger='current', level=30)
        self._checked = True
        return True

    def _load_meta(self):  # only reached without class names in the metainfo
        import pickle

        path = osp.join(self.data_prefix['root'], self.base_folder, self.meta['filename'])
        with open(path, 'rb') as f:
            data = pickle.load(f, encoding='latin1')
        self._metainfo.setdefault('classes', data[self.meta['key']])


