"""Alignment from demonstrations, the exact part: forward and reverse KL fits on discrete distributions
(:mod:`persuasion.afd.kl_fits`).  The reverse fit needs the optional dependency cvxpy."""
from .kl_fits import KLFit, best_by_enumeration, forward_fit, is_unimodal, kl, reverse_fit

__all__ = ["KLFit", "forward_fit", "reverse_fit", "kl", "is_unimodal", "best_by_enumeration"]
