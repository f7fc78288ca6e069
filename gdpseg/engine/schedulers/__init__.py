"""Learning-rate schedules beyond MMEngine's."""
from .rewound_lr import RewoundCosineLR

__all__ = ['RewoundCosineLR']
