import pytest
import torch


@pytest.fixture(autouse=True, scope='session')
def _torch_threads():
    # CI and developer machines have 2 cores; more threads only oversubscribe them.
    torch.set_num_threads(2)
    yield
