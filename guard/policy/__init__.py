"""Rightsholder policies: from character matches to a Decision (allow, tag, rewrite or reject).

- `PolicyEngine`: compiled policies; `decide(prompt, matches, context, rescan=...)` -> Decision.
- `load_files`: read and check policy and theme files (errors name file, line and field).
- `ThemeLexicon`: the multilingual theme detector used by conditions on themes.
File formats: policies/README.md.
"""
from guard.policy.engine import UNKNOWN_ACTIONS, PolicyEngine
from guard.policy.loader import bundled_dir, load_files
from guard.policy.themes import ThemeLexicon

__all__ = ["PolicyEngine", "UNKNOWN_ACTIONS", "ThemeLexicon", "bundled_dir", "load_files"]
