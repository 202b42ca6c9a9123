"""2-D maps of feature vectors for plots and explorers: UMAP (umap-learn) and a PCA fallback.

UMAP keeps local neighbourhoods: images whose features are close land close on the map. It is fitted with a
fixed ``random_state``, so the same features give the same map. umap-learn is an optional dependency
(``pip install -e ".[notebooks]"``); its first fit in a fresh process spends ~20 s compiling with numba.

Shapes: B batch (points), F feature dim.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA

from .. import optional_import


def _as_features(features) -> np.ndarray:
    """features [B, F] (tensor or array) -> float32 array [B, F], standardised per feature."""
    x = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"expected features [B, F] with B >= 3, received shape {tuple(x.shape)}")
    x = x.astype(np.float32)
    return (x - x.mean(0)) / (x.std(0) + 1e-6)


def pca_2d(features) -> np.ndarray:
    """First two principal components of standardised features [B, F] -> coords [B, 2] (scikit-learn's PCA)."""
    x = _as_features(features)
    coords = PCA(n_components=min(2, x.shape[1]), svd_solver="full").fit_transform(x)  # [B, <= 2]
    if coords.shape[1] < 2:  # F == 1: pad with zeros
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords.astype(np.float32)


def umap_2d(features, n_neighbors: int = 15, min_dist: float = 0.1, random_state: int = 0) -> np.ndarray:
    """UMAP of standardised features [B, F] -> coords [B, 2], deterministic for a fixed random_state."""
    umap = optional_import("umap", "umap-learn", "notebooks", "umap_2d (or pca_2d, which does not)")  # slow import
    x = _as_features(features)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(x) - 1), min_dist=min_dist,
                        random_state=random_state, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "n_jobs overridden to 1 by setting random_state"
        return reducer.fit_transform(x).astype(np.float32)
