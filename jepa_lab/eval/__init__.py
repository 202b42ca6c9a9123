"""Measurements: linear and attentive probes, latent prediction, surprise (violation of expectation), the limits
of latent world models, and planners side by side.
"""
