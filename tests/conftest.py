import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
# What a user's runs create in the repository (tools' defaults, the demos): tests must neither
# read nor write any of it, so the suite passes the same before and after `make demo`.
USER_PATHS = ('work_dirs', 'data')


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow: trains, exports or sweeps real models (seconds each); the fast tier '
        'for everyday work is `pytest -m "not slow"` (make test-fast), `make test` runs all')


@pytest.fixture(autouse=True, scope='session')
def _torch_threads():
    # CI and developer machines have 2 cores; more threads only oversubscribe them.
    torch.set_num_threads(2)
    yield


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path_factory, monkeypatch):
    """Every test runs in a fresh empty directory: relative paths in configs and tools
    (``work_dirs/...``, ``data/...``) resolve there, never to a user's runs in the repository."""
    monkeypatch.chdir(tmp_path_factory.mktemp('cwd'))
    yield


def _snapshot():
    found = {}
    for name in USER_PATHS:
        for dirpath, _, files in os.walk(ROOT / name):
            for f in files:
                p = Path(dirpath) / f
                try:
                    found[str(p.relative_to(ROOT))] = p.stat().st_mtime_ns
                except FileNotFoundError:  # removed while walking
                    pass
    return found


@pytest.fixture(autouse=True, scope='session')
def _repository_untouched():
    """Fail the session if any test wrote into the repository's work_dirs/ or data/."""
    before = _snapshot()
    yield
    after = _snapshot()
    changed = sorted(k for k in after if before.get(k) != after[k])
    removed = sorted(set(before) - set(after))
    assert not changed and not removed, (
        'the repository\'s work_dirs/ or data/ changed while the tests ran (a test must work '
        f'in its tmp_path; or a run of yours wrote there meanwhile): {(changed + removed)[:10]}')
