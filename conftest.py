"""Collection rules for the whole checkout (pytest reads this before tests/ and fpsnr/).

``fpsnr/torch.py`` is doctested like the rest of the package, but only where torch is
installed: the core install (``pip install -e '.[dev]'``, the README's first line) has
no torch, and its test run must still collect and pass.
"""

from __future__ import annotations

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["fpsnr/torch.py"]
