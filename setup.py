"""Builds the optional C text kernels (guard/_speedups.c); everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        # optional: an install without a C compiler still works, with the pure-Python scan (see guard/speedups.py).
        Extension("guard._speedups", ["guard/_speedups.c"], optional=True),
    ]
)
