"""Training loops: the I-JEPA/V-JEPA loop (``jepa.py``) and its schedules, phase 2 of V-JEPA 2-AC (``ac.py``), the
pixel surprise baseline, and data-parallel training under torchrun (``parallel.py``).
"""
