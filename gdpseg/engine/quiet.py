"""The tools' ``--quiet`` mode: progress bars and warnings on the console, the full log in the
work dir."""
import contextlib
import io
import logging
import sys
import warnings

from mmengine.runner import Runner


# MMEngine's own notices that say nothing about the run (they stay in the log file)
_HARMLESS = ('will be deprecated', 'is the alias of', 'The prefix is not set in metric class',
             'since its requires_grad=False')


class _DropHarmless(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        return not any(text in message for text in _HARMLESS)


class QuietRunner(Runner):
    """MMEngine's Runner whose console shows warnings and errors only (the environment and
    config dumps and the per-interval lines still go to the log file of the work dir)."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(logging.WARNING)
                handler.addFilter(_DropHarmless())
        return logger


def quiet_cfg(cfg, desc: str = ''):
    """Add a progress bar to ``cfg`` and mute the libraries' deprecation chatter."""
    hooks = list(cfg.get('custom_hooks', []) or [])
    hooks.append(dict(type='ProgressBarHook', desc=desc))
    cfg.custom_hooks = hooks
    for module in (r'mmseg(\..*)?', r'mmengine(\..*)?', r'mmdet(\..*)?'):
        warnings.filterwarnings('ignore', category=UserWarning, module=module)
        warnings.filterwarnings('ignore', category=DeprecationWarning, module=module)
    # raised inside torch on mmdet's behalf (its anchor generators call meshgrid without
    # `indexing`): nothing a user can act on
    warnings.filterwarnings('ignore', message=r'torch\.meshgrid: in an upcoming release',
                            category=UserWarning)
    return cfg


# what pycocotools prints on every COCO() (mmdet's datasets and metric build one)
_CHATTER = ('loading annotations into memory...', 'Done (t=', 'creating index...',
            'index created!')


class _DropChatter(io.TextIOBase):
    """A stdout that passes every line but the libraries' progress chatter."""

    def __init__(self, stream):
        self.stream, self.pending = stream, ''

    def write(self, text):
        self.pending += text
        *lines, self.pending = self.pending.split('\n')
        for line in lines:
            if not line.startswith(_CHATTER):
                self.stream.write(line + '\n')
        return len(text)

    def flush(self):
        self.stream.flush()

    def close_out(self):
        if self.pending and not self.pending.startswith(_CHATTER):
            self.stream.write(self.pending)
        self.pending = ''
        self.stream.flush()


@contextlib.contextmanager
def quiet_stdout():
    """Drop pycocotools' "loading annotations into memory..." lines from stdout (--quiet)."""
    out = _DropChatter(sys.stdout)
    try:
        with contextlib.redirect_stdout(out):
            yield
    finally:
        out.close_out()
