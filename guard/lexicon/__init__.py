"""Lexicon files: schema, loading, import and maintenance tools."""
