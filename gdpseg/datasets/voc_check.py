"""Check a Pascal VOC directory (``PascalVOCDataset`` configs only) before training, with a
message that says how to fix it."""
import os.path as osp

from .find import datasets_of_type

VOC_HELP = """\
Pascal VOC 2012 with the SBD augmentation is expected at {root}
(OpenMMLab layout: data/VOCdevkit/VOC2012 relative to where the tools run):
  JPEGImages/*.jpg, SegmentationClass/*.png, SegmentationClassAug/*.png,
  ImageSets/Segmentation/{{train,val,aug}}.txt
To get it:
  1. VOCtrainval_11-May-2012.tar (VOC 2012) -> extract to data/VOCdevkit/VOC2012
  2. SBD benchmark.tgz -> extract to data/VOCdevkit/VOCaug
  3. python <mmsegmentation>/tools/dataset_converters/voc_aug.py data/VOCdevkit \\
        data/VOCdevkit/VOCaug --nproc 8
     (writes SegmentationClassAug/ and ImageSets/Segmentation/aug.txt)
Or point the config at your copy, e.g.
  --cfg-options train_dataloader.dataset.datasets.0.data_root=/path/VOC2012 ...
or run from the directory that holds data/.
For a dry run without VOC, a small set in the same layout (scikit-learn's digits, no download):
  python -c "from gdpseg.datasets import make_digits_voc; make_digits_voc('data/VOCdevkit/VOC2012')"
(train/val/aug lists and SegmentationClassAug included). See docs/data.md."""


def _prefix(ds):
    """``data_prefix`` as a dict: a plain string is the image folder (mmengine's convention)."""
    prefix = ds.get('data_prefix') or {}
    if isinstance(prefix, str):
        return {'img_path': prefix}
    if not isinstance(prefix, dict):
        raise ValueError(f'data_prefix must be a dict such as dict(img_path=..., '
                         f'seg_map_path=...) or a string, got {prefix!r}')
    return dict(prefix)


def check_voc_layout(dataset_cfg, base_dir='.'):
    """Raise ``FileNotFoundError`` naming every missing part of a VOC-layout dataset config.

    Args:
        dataset_cfg: A dataloader or dataset config (nested ``ConcatDataset`` too).
        base_dir: Directory relative paths are resolved from (the working directory).
    """
    problems, roots = [], []
    for ds in datasets_of_type(dataset_cfg, 'PascalVOCDataset'):
        if 'data_root' not in ds or 'ann_file' not in ds:
            continue
        root = ds['data_root'] if osp.isabs(ds['data_root']) else osp.join(base_dir,
                                                                           ds['data_root'])
        roots.append(ds['data_root'])
        if not osp.isdir(root):
            problems.append(f'directory {ds["data_root"]} does not exist '
                            f'(looked at {osp.abspath(root)})')
            continue
        prefix = _prefix(ds)
        for key, sub in prefix.items():
            if not osp.isdir(osp.join(root, sub)):
                problems.append(f'{key} folder {osp.join(ds["data_root"], sub)} is missing')
        ann = osp.join(root, ds['ann_file'])
        if not osp.isfile(ann):
            problems.append(f'list {osp.join(ds["data_root"], ds["ann_file"])} is missing')
            continue
        ids = open(ann).read().split()
        if not ids:
            problems.append(f'list {ds["ann_file"]} is empty')
            continue
        for name in ids[:3]:
            img = osp.join(root, prefix.get('img_path', ''), name + ds.get('img_suffix', '.jpg'))
            seg = osp.join(root, prefix.get('seg_map_path', ''),
                           name + ds.get('seg_map_suffix', '.png'))
            for path in (img, seg):
                if not osp.isfile(path):
                    problems.append(f'{path} (listed in {ds["ann_file"]}) is missing')
    if problems:
        unique = list(dict.fromkeys(problems))
        raise FileNotFoundError('The dataset is incomplete:\n  - ' + '\n  - '.join(unique) +
                                '\n' + VOC_HELP.format(root=roots[0] if roots else '?'))
