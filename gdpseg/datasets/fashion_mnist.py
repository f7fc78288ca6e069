"""Fashion-MNIST from local IDX files, never downloaded (real photographs of garments, 28x28).

Debian ships the four files (``apt-get install dataset-fashion-mnist``) in
``/usr/share/datasets/fashion-mnist``; any folder with the same files works (gzipped or not).
"""
import gzip
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset

from gdpseg.registry import DATASETS

DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist'
FILES = dict(train=('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
             test=('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'))
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
           'Sneaker', 'Bag', 'Ankle boot')
HELP = ('Fashion-MNIST is read from its four IDX files ({train,t10k}-{images-idx3,labels-idx1}'
        '-ubyte, gzipped or not) in DATA_ROOT. On Debian/Ubuntu: sudo apt-get install '
        f'dataset-fashion-mnist (puts them in {DEFAULT_ROOT}); or download them from '
        'https://github.com/zalandoresearch/fashion-mnist into DATA_ROOT')


def _find(root: str, name: str) -> Optional[str]:
    for candidate in (osp.join(root, name + '.gz'), osp.join(root, name)):
        if osp.isfile(candidate):
            return candidate
    return None


def missing_fashion_files(data_root: str) -> List[str]:
    """The Fashion-MNIST files absent from ``data_root`` (names without ``.gz``)."""
    return [osp.join(data_root, n) for pair in FILES.values() for n in pair
            if _find(data_root, n) is None]


def read_idx(path: str) -> np.ndarray:
    """An IDX file (the MNIST format: big-endian magic, dims, then unsigned bytes) as an array."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path} is not an IDX file of unsigned bytes (the MNIST format)')
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path} is truncated: {body.size} values for a shape {shape}')
    return body.reshape(shape)


def write_idx(path: str, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file (gzipped when ``path`` ends with ``.gz``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + b''.join(
        int(d).to_bytes(4, 'big') for d in array.shape)
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(head + array.tobytes())


def load_fashion_mnist(data_root: str = DEFAULT_ROOT, split: str = 'train'):
    """``(images N x 28 x 28 uint8, labels N int64)`` of the ``'train'`` or ``'test'`` file."""
    missing = missing_fashion_files(data_root)
    if missing:
        raise FileNotFoundError(f'Fashion-MNIST files are missing: {", ".join(missing)}. '
                                + HELP)
    images = read_idx(_find(data_root, FILES[split][0]))
    labels = read_idx(_find(data_root, FILES[split][1])).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f'Fashion-MNIST files in {data_root} do not match: images '
                         f'{images.shape}, labels {labels.shape}')
    return images, labels


def split_indices(n: int, split: str, val_size: int, seed: int = 0) -> np.ndarray:
    """Indices of the training file for ``'train'`` (without the validation part), ``'val'``
    (``val_size`` images held out, class-balanced by a seeded shuffle) or ``'trainval'``."""
    order = np.random.default_rng(seed).permutation(n)
    if split == 'trainval':
        return np.sort(order)
    val = np.sort(order[:val_size])
    return val if split == 'val' else np.sort(order[val_size:])


@DATASETS.register_module()
class FashionMNIST(BaseDataset):
    """Fashion-MNIST (10 classes of garments, 28x28 grayscale) for mmpretrain pipelines.

    Args:
        data_root: Folder with the four IDX files (default: Debian's
            ``/usr/share/datasets/fashion-mnist``).
        split: ``'train'`` (the training file minus the validation images), ``'val'`` (the
            ``val_size`` held-out training images: choose settings on it), ``'trainval'``
            (the whole training file) or ``'test'`` (the 10,000 test images: report on it).
        val_size: Training images held out as ``'val'``.
        subset: Use only this many images of the split (a seeded, fixed choice), e.g. to fit
            a study into a CPU budget; ``None``: all.
        seed: Seed of the validation hold-out and of the subset.
        rgb: Repeat the gray channel three times (networks with RGB stems, pretrained ones).
        **kwargs: As mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...).
    """

    METAINFO = dict(classes=CLASSES)

    def __init__(self, data_root: str = DEFAULT_ROOT, split: str = 'train',
                 val_size: int = 5000, subset: Optional[int] = None, seed: int = 0,
                 rgb: bool = False, pipeline: Sequence = (), **kwargs):
        if split not in ('train', 'val', 'trainval', 'test'):
            raise ValueError(f"split must be 'train', 'val', 'trainval' or 'test', got "
                             f'{split!r}')
        if kwargs.pop('download', False):
            raise ValueError('FashionMNIST never downloads: ' + HELP)
        self.split, self.val_size, self.subset = split, int(val_size), subset
        self.seed, self.rgb = int(seed), bool(rgb)
        super().__init__(ann_file='', data_root=data_root, pipeline=pipeline,
                         test_mode=kwargs.pop('test_mode', split in ('val', 'test')), **kwargs)

    def load_data_list(self):
        source = 'test' if self.split == 'test' else 'train'
        images, labels = load_fashion_mnist(self.data_root, source)
        if source == 'train':
            idx = split_indices(len(images), self.split, self.val_size, self.seed)
        else:
            idx = np.arange(len(images))
        if self.subset is not None and self.subset < len(idx):
            pick = np.random.default_rng(self.seed + 1).permutation(len(idx))[:self.subset]
            idx = idx[np.sort(pick)]
        out = []
        for i in idx:
            img = images[i]
            if self.rgb:
                img = np.repeat(img[..., None], 3, axis=-1)
            out.append(dict(img=img, gt_label=int(labels[i]), file_index=int(i)))
        return out
