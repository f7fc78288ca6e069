"""A small detection dataset in COCO layout, made offline from scikit-learn's digits.

The canvases of :func:`make_digits_voc` with one box per digit (classes ``'0'`` .. ``'9'``):
``root/images/*.jpg`` and ``root/annotations/{train,val}.json``. Used by the detection demo
config and the tests where COCO is not available.
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .digits_voc import canvas

CLASSES = tuple(str(d) for d in range(10))


def make_digits_coco(root, num_train=64, num_val=16, size=64, digits_per_image=(1, 3),
                     digit_size=(0.3, 0.5), seed=0):
    """Write the images and COCO annotation files; the same arguments give the same files.

    Returns:
        Path: ``root``.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    root = Path(root)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    for split, count in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for i in range(count):
            name = f'{split}_{i:05d}.jpg'
            image, _, boxes = canvas(rng, digits, size, digits_per_image, digit_size)
            Image.fromarray(image).save(root / 'images' / name, quality=95)
            images.append(dict(id=i + 1, file_name=name, width=size, height=size))
            for x, y, w, h, digit in boxes:
                annotations.append(dict(id=len(annotations) + 1, image_id=i + 1,
                                        category_id=digit + 1, bbox=[x, y, w, h], area=w * h,
                                        iscrowd=0))
        (root / 'annotations' / f'{split}.json').write_text(json.dumps(
            dict(images=images, annotations=annotations, categories=categories)))
    return root
