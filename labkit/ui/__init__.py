"""Slider UIs for JupyterLab: pure render functions and the widgets that call them."""
