"""A small segmentation dataset in Pascal VOC layout, made offline from scikit-learn's digits.

Handwritten digits (bundled with scikit-learn, no download) are upscaled and pasted on noisy
canvases; every digit pixel is labelled with class ``digit + 1`` (0 is background), so the label
range fits VOC's 21 classes. Used by the demo and the tests where Pascal VOC is not available.
"""
from pathlib import Path

import numpy as np
from PIL import Image


def make_digits_voc(root, num_train=64, num_val=16, size=64, digits_per_image=(1, 3),
                    digit_size=(0.25, 0.5), seed=0):
    """Write ``root/JPEGImages``, ``SegmentationClass``, ``SegmentationClassAug`` (the SBD
    layout, here the same labels) and ``ImageSets/Segmentation/{train,val,aug}.txt``.

    Args:
        root: Directory to create (VOC2012-like: pass ``.../VOCdevkit/VOC2012``).
        num_train: Images listed in ``train.txt`` (and ``aug.txt``).
        num_val: Images listed in ``val.txt``.
        size: Canvas side in pixels.
        digits_per_image: Inclusive range of digits pasted on each canvas.
        digit_size: Range of a digit's side, as a fraction of the canvas side.
        seed: Seed of the generator; the same arguments give the same files.

    Returns:
        Path: ``root``.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    root = Path(root)
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = {'train': [], 'val': []}
    for split, count in (('train', num_train), ('val', num_val)):
        for i in range(count):
            name = f'{split}_{i:05d}'
            image, label, _ = canvas(rng, digits, size, digits_per_image, digit_size)
            Image.fromarray(image).save(root / 'JPEGImages' / f'{name}.jpg', quality=95)
            for folder in ('SegmentationClass', 'SegmentationClassAug'):
                Image.fromarray(label, mode='L').save(root / folder / f'{name}.png')
            names[split].append(name)
    sets = root / 'ImageSets' / 'Segmentation'
    (sets / 'train.txt').write_text('\n'.join(names['train']) + '\n')
    (sets / 'aug.txt').write_text('\n'.join(names['train']) + '\n')
    (sets / 'val.txt').write_text('\n'.join(names['val']) + '\n')
    return root


def canvas(rng, digits, size, digits_per_image, digit_size):
    """One noisy canvas with pasted digits: ``(image, label mask, boxes)``, each box
    ``(x, y, w, h, digit)`` around a digit's visible pixels."""
    background = rng.uniform(0, 90, 3)
    image = np.clip(background + rng.normal(0, 12, (size, size, 3)), 0, 255)
    label = np.zeros((size, size), np.uint8)
    boxes = []
    for _ in range(rng.integers(digits_per_image[0], digits_per_image[1] + 1)):
        k = rng.integers(len(digits.images))
        side = int(rng.integers(int(size * digit_size[0]), int(size * digit_size[1]) + 1))
        glyph = Image.fromarray((digits.images[k] * 255 / 16).astype(np.uint8))
        glyph = np.asarray(glyph.resize((side, side), Image.BILINEAR)) / 255.0
        y, x = rng.integers(0, size - side + 1, 2)
        colour = rng.uniform(140, 255, 3)
        mask = glyph > 0.35
        patch = image[y:y + side, x:x + side]
        patch[mask] = (glyph[mask, None] * colour + (1 - glyph[mask, None]) * patch[mask])
        label[y:y + side, x:x + side][mask] = digits.target[k] + 1
        if mask.any():
            ys, xs = np.nonzero(mask)
            boxes.append((int(x + xs.min()), int(y + ys.min()), int(xs.max() - xs.min() + 1),
                          int(ys.max() - ys.min() + 1), int(digits.target[k])))
    return image.astype(np.uint8), label, boxes
