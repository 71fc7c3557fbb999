"""Stochastic collapse: gradient noise attracts SGD towards simpler subnetworks.

Chen, Kunin, Yamamura, Ganguli (2023), arXiv:2306.04251. Book chapter: ``book/stochastic_collapse``.
"""
