"""A small classification dataset in CIFAR-10's python layout, made offline from scikit-learn's
digits: ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``, 32x32 RGB, labels
0-9. mmpretrain's CIFAR reader (``gdpseg.CIFAR10Local``) loads it like the real CIFAR-10: a
stand-in where CIFAR-10 is not available (the demo and the tests).
"""
import pickle
from pathlib import Path

import numpy as np

CLASSES = tuple(str(i) for i in range(10))


def make_digits_cifar(root, num_train=500, num_test=100, seed=0):
    """Write the batches under ``root/cifar-10-batches-py`` and return ``root``.

    Each digit (8x8, 17 grey levels) is upscaled 4x to 32x32, tinted per image and given pixel
    noise, so flips and crops change it as they change natural images.

    Args:
        root: The ``data_root`` of the dataset config.
        num_train: Training images, spread over the five training batches.
        num_test: Test images (``test_batch``), disjoint from the training ones.
        seed: Seed of the generator; the same arguments give the same files.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    if num_train + num_test > len(digits.target):
        raise ValueError(f'at most {len(digits.target)} images in all')
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))
    images = digits.images[order].repeat(4, 1).repeat(4, 2) / 16.0  # N x 32 x 32 in [0, 1]
    tint = rng.uniform(0.5, 1.0, size=(len(images), 3, 1, 1))
    rgb = images[:, None] * tint * 200 + rng.normal(0, 12, size=(len(images), 3, 32, 32)) + 30
    data = np.clip(rgb, 0, 255).astype(np.uint8).reshape(len(images), -1)
    labels = digits.target[order].tolist()
    folder = Path(root) / 'cifar-10-batches-py'
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, num_train, 6).astype(int)
    for b in range(5):
        lo, hi = bounds[b], bounds[b + 1]
        _dump(folder / f'data_batch_{b + 1}', data[lo:hi], labels[lo:hi])
    _dump(folder / 'test_batch', data[num_train:num_train + num_test],
          labels[num_train:num_train + num_test])
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({'label_names': list(CLASSES)}, f)
    return Path(root)


def _dump(path, data, labels):
    with open(path, 'wb') as f:
        pickle.dump({'data': data, 'labels': list(labels)}, f)
