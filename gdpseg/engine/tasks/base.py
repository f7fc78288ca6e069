"""What gdpseg's tools need to know about a task family, and the fallback for any task."""
import uuid

from gdpseg.registry import TASKS


@TASKS.register_module()
class TaskAdapter:
    """The generic task: an MMEngine model evaluated by its config's evaluator.

    A task family (segmentation, classification, detection, ...) subclasses it in its own file
    and registers it in ``TASKS``; :func:`task_for` picks the first adapter (highest
    ``priority``) that claims a model.
    """

    name = 'generic'
    priority = 0
    # (visualization hook, visualizer) that draw predictions, for ``--show-dir``
    draw_types = None
    draw_options = dict(draw=True)  # what switches the hook on
    headline = ()  # metrics printed first

    def model_class(self):
        """The base class of the task's models (None: any model)."""
        return None

    def matches(self, model) -> bool:
        """Whether this adapter handles ``model`` (the task model, not the GDP wrapper)."""
        base = self.model_class()
        return base is None or isinstance(model, base)

    def matches_class(self, cls) -> bool:
        """Whether this adapter handles models of class ``cls`` (None: unknown)."""
        base = self.model_class()
        return base is None or isinstance(cls, type) and issubclass(cls, base)

    def check_data(self, dataloader_cfg) -> None:
        """Raise a clear error when a dataset this task knows is missing or incomplete."""

    def labels(self, data_sample, model=None):
        """``(labels, ignore_index or None)`` of a training sample of ``model`` (the task
        model), for the check that they are classes of the dataset (``LabelCheckHook``); None
        when the task has none."""
        return None

    def show(self, cfg, show_dir: str) -> None:
        """Set ``cfg`` up to draw every test prediction into ``show_dir`` (``--show-dir``)."""
        if self.draw_types is None:
            raise ValueError(f'--show-dir: drawing predictions is not available for the '
                             f'{self.name} task')
        hook, visualizer = self.draw_types
        cfg.default_hooks.visualization = dict(type=hook, interval=1, **self.draw_options)
        # a visualizer of its own: MMEngine reuses one by name within a process, with the
        # save dir it was first given
        cfg.visualizer = dict(cfg.get('visualizer') or {}, type=visualizer,
                              vis_backends=[dict(type='LocalVisBackend')], save_dir=show_dir,
                              name=f'show_{uuid.uuid4().hex[:8]}')

    def export_report(self, groups, plan):
        """``[(title, lines), ...]`` the export's report.txt adds for this task (e.g. the ASPP
        branches a segmentation network keeps)."""
        return []

    def format_metrics(self, metrics: dict) -> str:
        """One line with the metrics of an evaluation, the task's headline metrics first."""
        keys = [k for k in metrics if k in self.headline] + \
            [k for k in metrics if k not in self.headline]
        return '  '.join(f'{k}: {_fmt(metrics[k])}' for k in keys)


def task_for_cfg(cfg):
    """The adapter of the task model a config builds (without building it)."""
    from gdpseg.registry import MODELS

    arch = cfg.model.get('architecture', cfg.model)
    cls = None
    if isinstance(arch, dict) and isinstance(arch.get('type'), str):
        name = arch['type']
        scope = arch.get('_scope_') or cfg.get('default_scope') or 'gdpseg'
        if '.' not in name and scope != 'gdpseg':
            cls = MODELS.get(f'{scope}.{name}')  # another OpenMMLab scope, e.g. mmseg
        cls = cls or MODELS.get(name)
    for adapter in _adapters():
        if adapter.matches_class(cls):
            return adapter
    return TaskAdapter()


def _fmt(value):
    return f'{value:.4f}' if isinstance(value, float) else str(value)


def _adapters():
    return sorted((cls() for cls in TASKS.module_dict.values()), key=lambda a: -a.priority)


def task_for(model) -> TaskAdapter:
    """The adapter of the task ``model`` belongs to (the generic one when none claims it)."""
    from mmengine.model import is_model_wrapper

    model = model.module if is_model_wrapper(model) else model
    model = getattr(model, 'architecture', model)
    return next(a for a in _adapters() if a.matches(model))


def check_data(dataloader_cfg) -> None:
    """Let every task check the datasets it knows in a dataloader config."""
    for adapter in _adapters():
        adapter.check_data(dataloader_cfg)
