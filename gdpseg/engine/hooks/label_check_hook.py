"""Refuse a training batch whose labels are not classes of the dataset, naming the file."""
from mmengine.hooks import Hook

from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS
from gdpseg.utils.errors import UserError


class LabelError(UserError, ValueError):
    """A training label outside the dataset's classes (and not the ignore index)."""


@HOOKS.register_module()
class LabelCheckHook(Hook):
    """Before every training iteration, check that each sample's labels are classes of the
    training dataset (``0 .. len(classes)-1``) or the task's ignore index, and name the files
    of a sample that has others. Without it the loss fails with ``IndexError: Target 50 is out
    of bounds`` and no file named (validation counts such labels instead: they are not scored).
    The labels of a sample are read by the task's adapter (:meth:`TaskAdapter.labels`)."""

    priority = 'VERY_HIGH'

    def __init__(self):
        self._task = self._model = None
        self._num_classes = None

    def before_train(self, runner):
        from gdpseg.engine.tasks import task_for

        self._task = task_for(runner.model)
        model = unwrap_model(runner.model)
        self._model = getattr(model, 'architecture', model)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        self._num_classes = len(classes) if classes else None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._num_classes is None or not isinstance(data_batch, dict):
            return
        n = self._num_classes
        for sample in data_batch.get('data_samples') or ():
            found = self._task.labels(sample, self._model)
            if found is None:
                continue
            labels, ignore = found
            bad = (labels < 0) | (labels >= n)
            if ignore is not None:
                bad &= labels != ignore
            if bool(bad.any()):
                values = sorted({int(v) for v in labels[bad].unique()[:5]})
                meta = getattr(sample, 'metainfo', {}) or {}
                files = [str(meta[k]) for k in ('seg_map_path', 'img_path') if meta.get(k)]
                allowed = f'0..{n - 1}' + (f' or {ignore} (ignored)' if ignore is not None
                                          else '')
                raise LabelError(
                    f'training labels out of range in {" / ".join(files) or "a sample"}: '
                    f'{values} (the dataset has {n} classes: labels {allowed}). Fix the '
                    'labels (e.g. masks saved with another palette or class list), or the '
                    "dataset's classes")
