"""Figures and JupyterLab widgets for the notebooks (matplotlib, plotly, ipywidgets).
"""
