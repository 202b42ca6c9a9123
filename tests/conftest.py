"""Shared pytest setup for the whole suite. Add fixtures below; keep module-level side effects here minimal.

``JEPA_LAB_FAST=1`` (fewer steps and samples, see ``jepa_lab.fast_mode``) is the default for tests; a value
already set in the environment wins, so ``JEPA_LAB_FAST=0 pytest`` runs the full-size paths.
"""

import os

os.environ.setdefault("JEPA_LAB_FAST", "1")
