"""Images from a folder, without labels: the content images of style transfer."""
import os
import os.path as osp

import numpy as np
import torch
from torch.utils.data import Dataset

from gdpseg.registry import DATASETS

EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(folder: str):
    """Image files under ``folder`` (recursively), sorted."""
    return sorted(osp.join(d, f) for d, _, files in os.walk(folder) for f in files
                  if f.lower().endswith(EXTENSIONS))


@DATASETS.register_module()
class ImageFolder(Dataset):
    """Every image under ``data_root`` (any depth), resized on its shorter side to ``size`` and
    centre-cropped to ``size`` x ``size``; items are ``dict(inputs=float (3, size, size) in [0,
    255], data_samples=dict(img_path=...))``.

    Args:
        data_root: The folder (e.g. ``data/coco/train2014``).
        size: Output side (256 in pytorch/examples).
        max_images: Use only the first N images (sorted by path); ``None``: all.
    """

    def __init__(self, data_root: str, size: int = 256, max_images=None):
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'image folder {data_root} does not exist: point the '
                                    'dataset\'s data_root at a folder of images (any depth)')
        self.files = list_images(data_root)
        if max_images:
            self.files = self.files[:int(max_images)]
        if not self.files:
            raise FileNotFoundError(f'no images ({", ".join(EXTENSIONS)}) under {data_root}')
        self.size = int(size)
        self.metainfo = dict(data_root=data_root)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.open(self.files[i]).convert('RGB')
        w, h = img.size
        scale = self.size / min(w, h)
        img = img.resize((max(self.size, round(w * scale)), max(self.size, round(h * scale))),
                         Image.BILINEAR)
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        img = img.crop((left, top, left + self.size, top + self.size))
        x = torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1)
        return dict(inputs=x, data_samples=dict(img_path=self.files[i]))
