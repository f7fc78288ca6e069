"""gdpseg: GDP (Gates with Differentiable Polarization) channel pruning on MMEngine."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    """Pinned requirements of one file in requirements/, without comments."""
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


version = {}
exec((HERE / 'gdpseg' / 'version.py').read_text(), version)

setup(
    name='gdpseg',
    version=version['__version__'],
    description='Channel pruning with Gates with Differentiable Polarization (GDP) on MMEngine',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['gdpseg', 'gdpseg.*']),
    python_requires='>=3.9',
    # mmcv (requirements/mminstall.txt) is left out on purpose, as OpenMMLab projects do:
    # it must be compiled against the installed torch, which `make install` does in order.
    install_requires=read_requirements('torch.txt') + read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
