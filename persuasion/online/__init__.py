"""Online persuasion: learn the scheme while states arrive, and track regret.

>>> from persuasion import examples
>>> from persuasion.online import RobustPersuader, run
>>> trace = run(examples.prosecutor_judge(), RobustPersuader(delta=0.05), T=2000, seed=0)
>>> len(trace.cumulative_regret) == len(trace.bound) == 2000
True
>>> bool((trace.cumulative_regret <= trace.bound).all())
True
"""
from .confidence import box, box_vertices, radius
from .engine import RegretAccountingError, SchemeOutcome, Trace, evaluate_scheme, run
from .learners import (ActionInformedPersuader, BehaviouralPersuader, ExploreThenCommit, FullRevelation, GameView, KnownPriorOracle, Learner,
                       RobustPersuader, full_revelation_scheme)
from .robust import robust_coefficients, solve_robust

__all__ = ["run", "RegretAccountingError", "Trace", "evaluate_scheme", "SchemeOutcome", "Learner", "GameView", "RobustPersuader",
           "ExploreThenCommit", "ActionInformedPersuader", "BehaviouralPersuader", "KnownPriorOracle", "FullRevelation", "full_revelation_scheme", "radius", "box",
           "box_vertices", "robust_coefficients", "solve_robust"]
