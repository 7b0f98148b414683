"""Experiments: one module each (see base.py)."""
