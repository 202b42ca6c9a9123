"""Masking: which tokens the context encoder sees and which the predictor must fill in.

- ``multiblock.py``: I-JEPA's multi-block masks on an image's patch grid (target blocks, a context block).
- ``multiblock3d.py``: V-JEPA's 3-D masks on a clip's tubelet grid (short- and long-range tubes, the causal future mask).
"""
