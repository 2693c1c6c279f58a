"""The Advisor's value function and the benchmark values (no information, full revelation, first best)."""
from __future__ import annotations

import numpy as np

from ..arithmetic import arithmetic
from ..game import PersuasionGame, checked_game
from ..rational import dot
from .responses import _belief, best_response


def value_function(game: PersuasionGame, belief, tie: str = "sender", exact: bool = False):
    """The Advisor's value ``v(mu) = sum_w mu[w] V[w, a*(mu)]`` at a posterior ``mu``.

    Examples
    --------
    >>> from persuasion import examples, value_function
    >>> g = examples.prosecutor_judge()
    >>> float(value_function(g, [0.5, 0.5])), float(value_function(g, [0.7, 0.3]))
    (1.0, 0.0)
    """
    checked_game("value_function()", game)
    ar = arithmetic(exact)
    b = _belief(game, belief, ar, "value_function()")          # checked here, so errors name this function
    a = best_response(game, b, tie=tie, exact=ar)
    return dot(b, ar.data(game)[1][:, a])


def no_information_value(game: PersuasionGame, tie: str = "sender", exact: bool = False):
    """Value of sending no information: ``v(prior)``.

    Examples
    --------
    >>> from persuasion import examples, no_information_value
    >>> float(no_information_value(examples.prosecutor_judge()))   # the judge acquits at the prior
    0.0
    """
    checked_game("no_information_value()", game)
    ar = arithmetic(exact)
    return value_function(game, ar.data(game)[0], tie=tie, exact=ar)


def full_revelation_value(game: PersuasionGame, tie: str = "sender", exact: bool = False):
    """Value of revealing the state: ``sum_w prior[w] V[w, a*(delta_w)]``.

    Examples
    --------
    >>> from persuasion import examples, full_revelation_value
    >>> float(full_revelation_value(examples.prosecutor_judge()))  # convicts exactly the guilty, 30%
    0.3
    """
    checked_game("full_revelation_value()", game)
    ar = arithmetic(exact)
    prior, V, _ = ar.data(game)
    m = game.num_states
    one, zero = ar.one, ar.zero
    total = zero
    for w in range(m):
        delta = np.full(m, zero, dtype=ar.dtype)
        delta[w] = one
        total += prior[w] * V[w, best_response(game, delta, tie=tie, exact=ar)]
    return total


def first_best_value(game: PersuasionGame, exact: bool = False):
    """Upper bound ``sum_w prior[w] max_a V[w, a]`` (the Advisor choosing the action itself).

    Examples
    --------
    >>> from persuasion import examples, first_best_value
    >>> float(first_best_value(examples.prosecutor_judge()))       # the prosecutor would convict always
    1.0
    """
    checked_game("first_best_value()", game)
    ar = arithmetic(exact)
    prior, V, _ = ar.data(game)
    return sum((prior[w] * max(V[w]) for w in range(game.num_states)), ar.zero)
