"""One live training per work_dir: two runs there would overwrite each other's checkpoints,
history and pictures without a word."""
import contextlib
import datetime
import json
import os
import os.path as osp
import socket
import warnings

from gdpseg.utils.errors import UserError

LOCK_FILE = '.train.lock'


class WorkDirBusyError(UserError, RuntimeError):
    """Another live training holds the work_dir.

    Attributes:
        owner: What the holder wrote in the lock file (``pid``, ``host``, ``config``,
            ``started``), for callers that word the refusal themselves.
    """

    def __init__(self, message: str, owner: dict = None):
        super().__init__(message)
        self.owner = dict(owner or {})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def work_dir_lock(work_dir: str, config: str = ''):
    """Hold ``work_dir`` for this process while the block runs.

    A lock left by a process that has ended (on this machine) is taken over with a warning;
    a live one, or one of another machine, is refused with its owner's process id.
    In distributed training only rank 0 takes the lock (the other ranks are its helpers).
    """
    if int(os.environ.get('RANK', '0')) != 0:
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_FILE)
    me = dict(pid=os.getpid(), host=socket.gethostname(), config=str(config),
              started=datetime.datetime.now().isoformat(timespec='seconds'))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            other = _read(path) or {}
            pid, host = other.get('pid'), other.get('host')
            if isinstance(pid, int) and host == me['host'] and \
                    (pid == me['pid'] or not _alive(pid)):
                if pid != me['pid']:
                    warnings.warn(f'gdpseg: {path} was left by a training that ended '
                                  f'(process {pid}); taking the work_dir over', stacklevel=3)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                continue
            where = f'process {pid}' + ('' if host == me['host'] else f' on {host}')
            raise WorkDirBusyError(
                f'work_dir {work_dir} is in use by another training ({where}, config '
                f'{other.get("config") or "?"}, started {other.get("started") or "?"}): its '
                'checkpoints and logs would be overwritten. Give this run its own --work-dir, '
                f'or wait for that one to end (if it has ended, delete {path})', other)
        with os.fdopen(fd, 'w') as f:
            json.dump(me, f)
        break
    else:
        raise WorkDirBusyError(f'could not take {path}: another training keeps creating it')
    try:
        yield
    finally:
        if (_read(path) or {}).get('pid') == me['pid']:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
