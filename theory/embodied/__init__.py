"""Zador, Escola, Richards, Ölveczky, Bengio, …, Ganguli, … (2023), "Catalyzing next-generation
Artificial Intelligence through NeuroAI" — the embodied Turing test made measurable: real rat
trajectories (shipped in the ``ratinabox`` wheel) as the living counterpart, artificial animals of
rising sophistication, and judges (classifier two-sample tests, a kernel MMD test) whose power is
measured against the data budget. The two-sample design is the book's operationalisation.
"""

__all__ = ["candidates", "data", "judges", "plots"]

_SUBMODULES = ("candidates", "data", "judges", "plots")


def __getattr__(name):
    """The chapter's modules, imported on first use."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"theory.embodied.{name}")
    raise AttributeError(f"module 'theory.embodied' has no attribute {name!r}")
