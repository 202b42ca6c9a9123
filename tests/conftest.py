"""Shared pytest setup for the whole suite. Add fixtures below; keep module-level side effects here minimal.

``JEPA_LAB_FAST=1`` (fewer steps and samples, see ``jepa_lab.fast_mode``) is the default for tests; a value
already set in the environment wins, so ``JEPA_LAB_FAST=0 pytest`` runs the full-size paths.
"""

import os

os.environ.setdefault("JEPA_LAB_FAST", "1")

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Unit tests use tiny tensors: one intra-op thread is as fast, deterministic run to run, and far faster
    when the machine's cores are shared with other work. (Notebook kernels run in their own processes.)"""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def no_pyplot_leaks():
    """The library must not leave figures open in pyplot's global state (plot test modules use it for every
    test: ``pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")``)."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before
