"""theory: executable exact results in the theory of deep learning.

One subpackage per paper (``theory.rich_lazy`` for Kunin et al. 2024, ...) and a small shared
core (:mod:`theory.core`): device choice, seeding, the ``THEORY_SCALE`` switch, torch threads,
argument validation and the book's plotting style.
"""

from theory import core

__all__ = ["core"]
__version__ = "0.1.0"
