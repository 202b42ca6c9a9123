"""The ``jepa-lab`` command: ``main.py`` parses; ``train.py`` and ``planning.py`` run the commands.
"""
