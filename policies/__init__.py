"""Bundled example policy files (data only). See README.md in this folder."""
