"""Checkpoints: saving and loading every kind the kit writes (``saved.py``), and the small pretrained files it
ships (``pretrained.py``). Meta's released weights are read in ``fullscale/released.py``.
"""
