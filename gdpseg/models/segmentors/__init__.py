from .plain_segmentor import PlainSegmentor

__all__ = ['PlainSegmentor']
