"""Demo data: a seeded, realistic workspace (hotel/tourism brand and e-commerce shop).

(Being written.)
"""

from __future__ import annotations

__all__: list[str] = []
