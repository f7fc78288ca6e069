"""Style-transfer data made offline from the two sample photos scikit-learn ships (china.jpg,
flower.jpg): crops of one as content images, the other as the style image."""
from pathlib import Path

import numpy as np


def make_sample_style_data(root, num_content=8, size=128, seed=0):
    """Write ``root/content/{train,val}/*.png`` (random crops of china.jpg) and
    ``root/style.jpg`` (flower.jpg); return ``root``.

    Args:
        root: Folder to create.
        num_content: Content crops per split.
        size: Side of the crops.
        seed: Seed of the crop positions.
    """
    from PIL import Image
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    content, style = images[0], images[1]
    rng = np.random.default_rng(seed)
    root = Path(root)
    for split in ('train', 'val'):
        folder = root / 'content' / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(num_content):
            y = rng.integers(0, content.shape[0] - size)
            x = rng.integers(0, content.shape[1] - size)
            Image.fromarray(content[y:y + size, x:x + size]).save(folder / f'{i:03d}.png')
    Image.fromarray(style).save(root / 'style.jpg')
    return root
