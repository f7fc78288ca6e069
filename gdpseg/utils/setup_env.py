"""One call that prepares gdpseg for MMEngine's Runner."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register gdpseg's modules and the OpenMMLab task modules it wraps.

    Also allowlists the types MMEngine checkpoints hold, so ``--resume`` works under torch's
    ``weights_only`` loading (see :mod:`gdpseg.engine.checkpoint`).

    Args:
        init_default_scope: Make ``gdpseg`` the current default scope, as OpenMMLab tools do.
    """
    import gdpseg.datasets  # noqa: F401
    import gdpseg.deploy  # noqa: F401  (the 'latency' resource of the gates)
    import gdpseg.engine  # noqa: F401
    import gdpseg.evaluation  # noqa: F401
    import gdpseg.methods  # noqa: F401  (every pruning method, GDP included)
    import gdpseg.models  # noqa: F401
    import gdpseg.visualization  # noqa: F401
    from gdpseg.engine.checkpoint import allow_mmengine_checkpoints

    allow_mmengine_checkpoints()
    # mmseg registers into its own scope; its modules are built with a `mmseg.` prefix or `_scope_`.
    from mmseg.utils import register_all_modules as register_mmseg

    register_mmseg(init_default_scope=False)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'gdpseg':
        if current is not None:
            warnings.warn(f'The current default scope "{current.scope_name}" is not "gdpseg"; '
                          'switching to a new "gdpseg" scope.')
        name = f'gdpseg-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='gdpseg')
