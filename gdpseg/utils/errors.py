"""One-line errors for the command-line tools.

A mistake in a config, a ``--cfg-options`` value, a data file or a checkpoint is reported as one
line that says what is wrong, where, and the nearest valid value; the traceback only with
``--debug``. Any other exception is a bug and keeps its traceback.
"""
import difflib
import importlib
import inspect
import re
import sys
from typing import Callable, Iterable, Optional


class UserError(Exception):
    """Mixin of errors a user's input causes (reported in one line by the tools)."""


class ConfigError(UserError, ValueError):
    """A config value or key that the code cannot use."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, or its type's name when it has none."""
    text = str(exc).strip()
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0].strip()  # str(KeyError) wraps the text in quotes
    return text.splitlines()[0] if text else type(exc).__name__


def nearest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ''


_UNEXPECTED = re.compile(r"(?:class `(?P<cls>\w+)` in (?P<loc>[\w/.]+)\.py: )?"
                         r"(?P<fn>[\w.]+)\(\) got an unexpected keyword argument '(?P<arg>\w+)'")
_NOT_IN_REGISTRY = re.compile(r"(?P<name>[\w.]+) is not in the (?P<scope>[\w-]+)::(?P<reg>[\w ]+)"
                              r" registry")
_BAD_IMAGE = re.compile(r'failed to load image: (?P<path>\S+)')


def _class_of(match):
    if match['loc']:
        try:
            module = importlib.import_module(match['loc'].replace('/', '.'))
            return getattr(module, match['cls'], None)
        except ImportError:
            return None
    name = match['fn'].split('.')[0]
    return next((reg.module_dict[name] for reg in _registries() if name in reg.module_dict),
                None)


def _registries():
    """Every registry MMEngine knows (its roots and their children, in all scopes)."""
    from mmengine import registry as mm_registry

    found, todo = {}, [v for v in vars(mm_registry).values()
                       if isinstance(v, mm_registry.Registry)]
    while todo:
        reg = todo.pop()
        if id(reg) not in found:
            found[id(reg)] = reg
            todo.extend(reg.children.values())
    return list(found.values())


def _arguments(cls):
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return []
    return [p for p in params if p not in ('self', 'args', 'kwargs')]


def _registered_names(reg_name: str):
    """Every type name registered under ``reg_name`` in any scope MMEngine knows."""
    return {name for reg in _registries() if reg.name == reg_name for name in reg.module_dict}


def explain(exc: BaseException, cfg_options: Optional[dict] = None) -> Optional[str]:
    """The one-line message for an error a user's input caused, or None for a genuine bug.

    Args:
        exc: The exception a tool raised.
        cfg_options: The tool's ``--cfg-options``, to name the option a misspelt key came from.
    """
    text = str(exc)
    if isinstance(exc, TypeError):
        m = _UNEXPECTED.search(text)
        if m:
            cls = _class_of(m)
            name = m['cls'] or m['fn'].split('.')[0]
            args = _arguments(cls) if cls is not None else []
            where = [k for k in (cfg_options or {}) if k.split('.')[-1] == m['arg']]
            source = f'--cfg-options {where[0]}: ' if where else 'config: '
            valid = f"; it takes {', '.join(args)}" if args else ''
            return (f"{source}{name} has no argument '{m['arg']}'{nearest(m['arg'], args)}"
                    f'{valid}')
    if isinstance(exc, KeyError):
        m = _NOT_IN_REGISTRY.search(first_line(exc))
        if m:
            names = _registered_names(m['reg'])
            return (f"config: type='{m['name']}' is not a registered {m['reg']}"
                    f"{nearest(m['name'].split('.')[-1], names)}; check the spelling, or import "
                    "the module that registers it with custom_imports")
    if isinstance(exc, AssertionError):
        m = _BAD_IMAGE.search(text)
        if m:
            return (f'data: {m["path"]} cannot be decoded as an image (corrupt, truncated or not '
                    'an image): replace it, or remove it and its label from the split list')
    if isinstance(exc, (UserError, FileNotFoundError, ValueError)):
        return first_line(exc) if isinstance(exc, KeyError) else str(exc)
    return None


def run_tool(main: Callable, argv=None) -> None:
    """Run a tool's ``main``; errors of the user's input become one line on stderr (exit 1),
    with the full traceback when ``--debug`` is among the arguments."""
    args = sys.argv[1:] if argv is None else argv
    try:
        main(argv)
    except Exception as exc:  # noqa: BLE001  (re-raised unless it is the user's input)
        options = _cfg_options(args)
        message = explain(exc, options)
        if message is None or '--debug' in args:
            raise
        sys.exit(f'error: {message}')


def _cfg_options(args):
    """``--cfg-options k=v ...`` of a command line, as a dict of key → text."""
    out, on = {}, False
    for a in args:
        if a == '--cfg-options':
            on = True
        elif a.startswith('--'):
            on = False
        elif on and '=' in a:
            k, v = a.split('=', 1)
            out[k] = v
    return out
