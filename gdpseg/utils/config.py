"""Config loading shared by gdpseg's tools."""
import os
import os.path as osp
import sys

from mmengine.config import Config

from .errors import ConfigError, nearest

_MISSING = object()


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split('.'):
        if hasattr(node, 'keys') and part in node:  # a dict, ConfigDict or Config
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


# Top-level keys MMEngine's Runner and the OpenMMLab tools read besides the Runner's arguments
_TOOL_KEYS = ('custom_imports', 'runner_type', 'work_dir', 'load_from', 'resume', 'launcher',
              'default_scope', 'model_wrapper_cfg', 'compile', 'strategy', 'tta_model',
              'tta_pipeline', 'dist_params', 'auto_scale_lr', 'cudnn_benchmark', 'mp_cfg')


def _known_top_keys(cfg):
    import inspect

    from mmengine.runner import Runner

    runner = [p for p in inspect.signature(Runner.__init__).parameters if p != 'self']
    return set(cfg.keys()) | set(runner) | set(_TOOL_KEYS)


def check_option_types(cfg, cfg_options) -> None:
    """Refuse a ``--cfg-options`` entry that cannot be what the config holds there: a top-level
    key that neither the config nor the Runner knows (``optim_wraper.optimizer.lr=0.1``: it
    would be ignored), text or a list where the config has a number or a boolean
    (``train_cfg.max_iters=1OO``, ``eps_factor=[0.9,0.8]``), naming the key and the nearest
    valid one."""
    known = _known_top_keys(cfg)
    for key, value in (cfg_options or {}).items():
        top = key.split('.')[0]
        if top not in known:
            raise ConfigError(f'--cfg-options {key}: the config has no key {top!r}'
                              f'{nearest(top, known)}, and nothing would read it')
        if _dict_literal(value):
            raise ConfigError(f'--cfg-options {key}=' + '{...}: MMEngine\'s --cfg-options takes '
                              'no dict literal (it arrives as text or split at its commas); '
                              f'set the keys one by one: {key}.type=... {key}.KEY=VALUE')
        old = _get(cfg, key)
        if old is _MISSING or old is None or value is None:
            continue
        shown = value if isinstance(value, str) else repr(value)
        if isinstance(old, bool) and not isinstance(value, bool):
            raise ConfigError(f'--cfg-options {key}={shown}: expected True or False (the config '
                              f'has {old})')
        if isinstance(old, (int, float)) and not isinstance(old, bool) and \
                not isinstance(value, (int, float)):
            raise ConfigError(f'--cfg-options {key}={shown}: expected a number (the config has '
                              f'{old!r})')


def _dict_literal(value) -> bool:
    """Whether a parsed ``--cfg-options`` value was written as ``{...}``: DictAction keeps it
    as text, or splits it at its commas into a list of pieces."""
    if isinstance(value, str):
        return value.startswith('{') and value.endswith('}')
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return value[0].startswith('{') and value[-1].endswith('}')
    return False


def _separate_runs(cfg, path):
    """MMEngine keeps one logger per experiment name (config name + timestamp in seconds) and
    one visualizer per name within a process; a second run in the same process (the demo, the
    tests, notebooks) would write into the first one's log file and vis dir. Unique names keep
    runs apart."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    if not cfg.get('experiment_name'):
        cfg.experiment_name = f'{osp.splitext(osp.basename(path))[0]}-{tag}'
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.name = f"{cfg.visualizer.get('name', 'visualizer')}-{tag}"


def load_config(path, cfg_options=None):
    """``Config.fromfile`` with ``--cfg-options`` merged; a missing file or an option of the
    wrong type is a clear error. Modules of the working directory can be ``custom_imports``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    # ``custom_imports`` of modules next to where the tools run, without PYTHONPATH=. (the
    # tools are started as scripts, so the working directory is not on the path)
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    cfg = Config.fromfile(path)
    if cfg_options:
        check_option_types(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    _separate_runs(cfg, path)
    return cfg
