"""A semi-synthetic segmentation set in Pascal VOC layout: real Fashion-MNIST garments on crops of
real photographs, labelled by the garments' silhouettes. No real pixel-labelled set ships offline;
tables must call this one what it is (semi-synthetic).

Every canvas is a crop of a photograph that an installed package ships (scikit-image's brick,
grass, gravel, coffee, chelsea, astronaut, rocket; scikit-learn's china and flower), scaled and
flipped at random, with 2 to 5 garments pasted on it: each a Fashion-MNIST image scaled to a
random size, flipped at random, tinted with a random colour and blended in by its own intensity.
Later garments occlude earlier ones. A pixel is labelled ``1 + class`` inside a garment's
silhouette (intensity above a threshold, holes filled; opaque there), else 0 (background): 11
classes. Training canvases use garments
of Fashion-MNIST's ``train`` split, validation canvases those of its held-out ``val`` split and
test canvases its ``test`` file, so no garment is seen in two splits. The same arguments give the
same files.
"""
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np
from mmseg.datasets import BaseSegDataset
from PIL import Image
from scipy.ndimage import binary_fill_holes

from gdpseg.registry import DATASETS

from .fashion_mnist import CLASSES, DEFAULT_ROOT, load_fashion_mnist, split_indices

SCENE_CLASSES = ('background',) + CLASSES
SKIMAGE_PHOTOS = ('brick', 'grass', 'gravel', 'coffee', 'chelsea', 'astronaut', 'rocket')
SKLEARN_PHOTOS = ('china.jpg', 'flower.jpg')
THRESHOLD = 0.2  # garment intensity (0..1) above which a pixel is the garment's class


def background_photos() -> list:
    """The real photographs the canvases are cut from (RGB uint8 arrays)."""
    from sklearn.datasets import load_sample_image
    from skimage import data

    photos = []
    for name in SKIMAGE_PHOTOS:
        img = getattr(data, name)()
        photos.append(np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3])
    photos += [load_sample_image(name) for name in SKLEARN_PHOTOS]
    return photos


def _background(rng, photos, size):
    photo = photos[rng.integers(len(photos))]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 4, min(h, w) + 1))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = Image.fromarray(photo[y:y + side, x:x + side]).resize((size, size), Image.BILINEAR)
    crop = np.asarray(crop, dtype=np.float32)
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def scene(rng, photos, images, labels, size=128, garments=(2, 5), garment_size=(0.3, 0.65)):
    """One canvas: ``(image HxWx3 uint8, label HxW uint8)``."""
    canvas = _background(rng, photos, size).copy()
    label = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(garments[0], garments[1] + 1))):
        k = int(rng.integers(len(images)))
        side = int(rng.integers(int(size * garment_size[0]), int(size * garment_size[1]) + 1))
        glyph = Image.fromarray(images[k]).resize((side, side), Image.BILINEAR)
        glyph = np.asarray(glyph, dtype=np.float32) / 255.0
        if rng.random() < 0.5:
            glyph = glyph[:, ::-1]
        y, x = rng.integers(0, size - side + 1, 2)
        colour = rng.uniform(60, 255, 3)
        # the silhouette: above the threshold, dark prints inside it included (opaque); its
        # rim fades in by intensity
        silhouette = binary_fill_holes(glyph > THRESHOLD)
        alpha = np.where(silhouette, 1.0, np.clip(glyph / THRESHOLD, 0, 1))[..., None]
        patch = canvas[y:y + side, x:x + side]
        patch[:] = alpha * (glyph[..., None] * colour) + (1 - alpha) * patch
        label[y:y + side, x:x + side][silhouette] = labels[k] + 1
    return np.clip(canvas, 0, 255).astype(np.uint8), label


def make_fashion_scenes(root, fashion_root: str = DEFAULT_ROOT,
                        counts: Tuple[int, int, int] = (2000, 300, 500), size: int = 128,
                        garments: Sequence[int] = (2, 5),
                        garment_size: Sequence[float] = (0.3, 0.65), val_size: int = 5000,
                        seed: int = 0):
    """Write ``root/JPEGImages``, ``SegmentationClass`` (and ``SegmentationClassAug``, the same)
    and ``ImageSets/Segmentation/{train,val,test,aug}.txt``.

    Args:
        root: Directory to create (e.g. ``data/fashion_scenes``).
        fashion_root: Fashion-MNIST's IDX files (:class:`FashionMNIST`).
        counts: Canvases of the train, val and test splits.
        size: Canvas side in pixels.
        garments: Inclusive range of garments per canvas.
        garment_size: Range of a garment's side, as a fraction of the canvas side.
        val_size: Fashion-MNIST training images held out for the val canvases.
        seed: Seed; the same arguments give the same files.

    Returns:
        Path: ``root``.
    """
    root = Path(root)
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    photos = background_photos()
    train_images, train_labels = load_fashion_mnist(fashion_root, 'train')
    test_images, test_labels = load_fashion_mnist(fashion_root, 'test')
    sources = {}
    for split in ('train', 'val'):
        idx = split_indices(len(train_images), split, val_size, seed)
        sources[split] = (train_images[idx], train_labels[idx])
    sources['test'] = (test_images, test_labels)
    for n, (split, count) in enumerate(zip(('train', 'val', 'test'), counts)):
        rng = np.random.default_rng([seed, n])
        names = []
        for i in range(count):
            name = f'{split}_{i:05d}'
            image, label = scene(rng, photos, *sources[split], size, garments, garment_size)
            Image.fromarray(image).save(root / 'JPEGImages' / f'{name}.jpg', quality=95)
            for folder in ('SegmentationClass', 'SegmentationClassAug'):
                Image.fromarray(label, mode='L').save(root / folder / f'{name}.png')
            names.append(name)
        text = '\n'.join(names) + '\n'
        (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text(text)
        if split == 'train':
            (root / 'ImageSets' / 'Segmentation' / 'aug.txt').write_text(text)
    return root


@DATASETS.register_module()
class FashionScenesDataset(BaseSegDataset):
    """The semi-synthetic Fashion scenes (:func:`make_fashion_scenes`) for mmseg pipelines:
    VOC layout, 11 classes (background and Fashion-MNIST's ten garments)."""

    METAINFO = dict(classes=SCENE_CLASSES,
                    palette=[[0, 0, 0]] + [[int(c) for c in (37 * k % 256, 91 * k % 256,
                                                             173 * k % 256)]
                                           for k in range(1, 11)])

    def __init__(self, ann_file='', img_suffix='.jpg', seg_map_suffix='.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         ann_file=ann_file, **kwargs)
