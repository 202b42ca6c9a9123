"""Data the kit generates (seeded, deterministic) or reads from installed packages; nothing is downloaded.

- ``shapes.py``, ``photos.py``: images. ``balls.py``, ``moving_digits.py``, ``violations.py``: clips.
- ``clips.py``, ``video_io.py``: folders of mp4 clips and reading/writing them.
"""
