"""Bundled lexicon files (data only). See README.md in this folder."""
