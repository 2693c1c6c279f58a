"""Analysis of a persuasion game: best responses, the value function and its
concave closure, benchmark values, and the scheme <-> posteriors correspondence.

One module per concern: :mod:`.responses` (best responses, tie rules), :mod:`.values` (value
function, benchmark values), :mod:`.posteriors` (schemes <-> posteriors), :mod:`.closure`
(concave closure).

Tie-breaking.  The Receiver's best response is not unique at beliefs where
two actions give it the same expected utility.  ``tie="sender"`` (the
default and the standard convention, under which the optimum is attained)
picks, among best responses, the one the Advisor likes most; ``tie="adversarial"``
the one it likes least; ``tie="lowest"`` the lowest index.  On the float
path an action is best up to ties when no other action beats it, beating meaning
that the belief-weighted sum of the two actions' per-state differences exceeds
``TIE_TOLERANCE`` times the belief-weighted sum of the absolute differences
(:func:`near_best`: relative to that one comparison, so
the same rule at any units and for states whose utilities differ by many
orders of magnitude); on the exact path (``exact=True``) ties are exact
equalities between ``Fraction`` values.
"""
from ..scaling import TIE_TOLERANCE, tie_tolerance
from .closure import TwoStateClosure, concave_closure_bruteforce, concave_closure_two_states, region_vertices
from .posteriors import posteriors_from_scheme, scheme_from_posteriors, signal_posteriors
from .responses import (TIE_RULES, best_response, best_response_many, best_responses,
                        full_revelation_scheme_of, near_best)
from .values import first_best_value, full_revelation_value, no_information_value, value_function

__all__ = ["TIE_RULES", "TIE_TOLERANCE", "tie_tolerance", "near_best", "best_response", "best_responses", "best_response_many",
           "full_revelation_scheme_of", "value_function", "no_information_value", "full_revelation_value",
           "first_best_value", "posteriors_from_scheme", "signal_posteriors", "scheme_from_posteriors", "TwoStateClosure",
           "concave_closure_two_states", "region_vertices", "concave_closure_bruteforce"]
