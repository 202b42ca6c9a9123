"""Planning in latent space: planners search action sequences that minimise an energy.

- ``base.py``: action bounds and the ``Planner`` interface (sample, evaluate in one batch, refit).
- ``cem.py``, ``mppi.py``: the Cross-Entropy Method and MPPI.
- ``energy.py``: the L1 distance between imagined and goal latents.
- ``mpc.py``: model-predictive control (plan, act, observe, re-plan) and the episode loop.
"""
