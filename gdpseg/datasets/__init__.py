"""Data: Pascal VOC is used through mmseg; this package adds offline VOC-layout data."""
from .digits_voc import make_digits_voc

__all__ = ['make_digits_voc']
