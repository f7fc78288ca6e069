"""Data: Pascal VOC is used through mmseg; this package adds offline VOC-layout data."""
from .digits_voc import make_digits_voc
from .voc_check import check_voc_layout

__all__ = ['check_voc_layout', 'make_digits_voc']
