"""The networks: encoders, predictors and the JEPA models built from them.

- ``vit.py``, ``video_vit.py``: Vision Transformers for images and for video (tubelets).
- ``pos_embed.py``, ``rope.py``: fixed sin-cos positions and 3-D rotary positions.
- ``ijepa_predictor.py``, ``vjepa_predictor.py``, ``ac_predictor.py``: the I-JEPA, V-JEPA and action-conditioned
  (V-JEPA 2-AC) predictors.
- ``ema.py``: the target encoder's exponential moving average.
- ``ijepa.py``, ``vjepa.py``: the self-supervised models and their configs.
- ``world_model.py``: a frozen video encoder + the AC predictor (``encode``, ``predict``, ``rollout``).
- ``pixel_world_model.py``, ``pixel_video_predictor.py``: the pixel-space baselines (planning, surprise).
- ``normalize.py``: what goes into an encoder (ImageNet normalisation).
"""
