"""Row and column generation in rational arithmetic: the exact simplex on the part of the LP that matters.

The textbook LP has ``m n`` columns and ``n(n-1)`` obedience rows, yet its
optimum uses about ``m`` columns and a few rows.  The exact simplex
(:func:`persuasion.rational.rational_simplex`) pays ``rows x columns`` per
pivot, so on the full LP it stops at about 20 actions.  Here it runs on a
restricted LP and the restriction grows until the optimum is exact for the
whole game:

* **start** with the columns ``x[w, a]`` and obedience rows ``(a, a')`` given
  (the exact path passes those of HiGHS' bases, which are nearly right), plus
  the Receiver's best action in each state, so that full revelation is a
  feasible starting basis of every restricted LP;
* **solve** the restricted LP exactly: the first from the float solver's
  basis where that is a non-singular basis of it (feasible in exact
  arithmetic or not: the simplex shifts costs until it is dual feasible),
  else from full revelation; later rounds add their rows and columns to the
  solved tableau in place: a new row keeps the basis dual feasible (the
  dual simplex restores primal feasibility), a new column keeps it primal
  feasible (its tableau column is a combination of present ones, no
  solve), so a round costs a few pivots;
* **rows**: every obedience row of every recommended action is checked in
  rationals, and the violated ones are added, the most violated first (rows
  of an action that is never recommended read ``0 >= 0``);
* **columns**, in a round where no row was violated: every absent ``x[w, a]``
  is priced in rationals with the restricted duals (zero on absent rows); the
  positive ones are added, the largest first;
* stop when nothing is violated and nothing prices out.

At that point the restricted optimum, padded with zeros, is feasible for the
full LP, and its duals are feasible for the full dual with the same value:
the exact optimum.  The caller still checks the full certificate in
rationals (:func:`persuasion.solution.assemble`), so the argument above is
tested on every answer, not trusted.  Every round adds at least one row or
column, so the loop ends; each restricted LP is refused before it is built if
its tableau would pass ``max_entries``.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable

import numpy as np

from .errors import CertificateError
from .game import PersuasionGame
from .analysis import best_response
from .lp import dual_slacks, recommended_slacks
from .rational import RationalTableau, SimplexError, obedience_coefficient

#: Rows added per recommended action and round (the most violated first).
ROWS_PER_ACTION = 4
#: Columns added per state and round (the largest reduced costs first).
COLS_PER_STATE = 8


def exact_generation(game: PersuasionGame, columns: Iterable[tuple[int, int]] = (),
                     rows: Iterable[tuple[int, int]] = (), max_entries: int = 400_000,
                     basis: tuple | None = None, rule: str = "dantzig"):
    """Exact optimum of ``game`` by row and column generation around the exact simplex.

    Parameters
    ----------
    columns : pairs ``(w, a)``, the columns ``x[w, a]`` to start with.
    rows : pairs ``(a, a')``, the obedience rows to start with.
    max_entries : largest tableau (rows x columns) a restricted LP may have.
    basis : ``(columns, tight rows)`` of a basis of the whole LP (a float solver's, nearly optimal), pairs
        as above; the first restricted LP starts from its columns and the slacks of its other rows where
        that is a non-singular basis there (else from full revelation).  Its columns and rows
        are added to the start.
    rule : the exact simplex's pivot rule (:func:`persuasion.rational.rational_simplex`).

    Returns
    -------
    scheme : (m, n), y : (m,), lam : (n, n) object arrays of ``Fraction``
    info : dict with ``rounds``, ``columns`` and ``rows`` of the last restricted LP, and ``pivots`` in all

    Raises
    ------
    CertificateError where a restricted LP grows past ``max_entries``.
    """
    prior, V, U = game.rational()
    m, n = game.shape
    zero, one = Fraction(0), Fraction(1)
    # full revelation: each state's best action, lowest index among ties
    start = [(w, best_response(game, [one if v == w else zero for v in range(m)], tie="lowest", exact=True))
             for w in range(m)]
    near_cols, near_rows = ([_pair(x) for x in basis[0]], [_pair(x) for x in basis[1]]) if basis else ([], [])
    cols = set(start) | {_pair(x) for x in columns} | set(near_cols)
    rws = {_pair(x) for x in rows if x[0] != x[1]} | set(near_rows)
    # the first restricted LP, built whole; later rounds add their rows and columns to its tableau in place
    C = sorted(cols)
    P = sorted(p for p in rws if p[0] in {a for _, a in C})
    _check_size(m + len(P), len(C) + len(P), 1, max_entries)
    ids = [("x", x) for x in C] + [("s", p) for p in P]
    index = {key: j for j, key in enumerate(ids)}       # kept in step with ids as columns are added
    A = [[one if w == s else zero for (w, _) in C] + [zero] * len(P) for s in range(m)]
    for k, (a, b) in enumerate(P):
        row = [obedience_coefficient(prior, U, w, x, a, b) for (w, x) in C] + [zero] * len(P)
        row[len(C) + k] = -one
        A.append(row)
    c = [prior[w] * V[w, a] for (w, a) in C] + [zero] * len(P)
    cold = [index[("x", x)] for x in start] + [len(C) + k for k in range(len(P))]       # full revelation
    tableau = _from_near_basis(c, A, [one] * m + [zero] * len(P), cold, index, near_cols, set(near_rows), P)
    rounds = 0
    while True:
        rounds += 1
        tableau.solve(rule=rule)
        z, yrow, _ = tableau.optimum()

        scheme = np.full((m, n), zero, dtype=object)
        for (kind, key), v in zip(ids, z):
            if kind == "x":
                scheme[key] = v
        y = np.array(yrow[:m], dtype=object)
        lam = np.full((n, n), zero, dtype=object)
        for (a, b), v in zip(P, yrow[m:]):
            lam[a, b] = -v

        # one kind per round, so the last basis stays a warm start: after new rows it is still dual
        # feasible (the dual simplex takes it from there), after new columns still primal feasible
        new_rows = _violated_rows(prior, U, scheme, rws)
        rws |= new_rows
        new_cols = set() if new_rows else _priced_columns(prior, V, U, y, lam, cols)
        if not new_rows and not new_cols:
            return scheme, y, lam, {"rounds": rounds, "columns": len(ids) - len(P), "rows": len(P),
                                    "pivots": tableau.pivots}
        cols |= new_cols
        if new_cols:                     # columns, then the known rows of actions they make recommendable
            recommended = {a for kind, (_, a) in ids if kind == "x"}
            new_rows = {p for p in rws if p[0] in {a for _, a in new_cols} - recommended}
            _check_size(m + len(P) + len(new_rows), len(ids) + len(new_cols) + len(new_rows), rounds + 1,
                        max_entries)
            for w, a in sorted(new_cols):
                _add_column(tableau, ids, index, P, prior, V, U, m, start[w], (w, a))
        else:
            _check_size(m + len(P) + len(new_rows), len(ids) + len(new_rows), rounds + 1, max_entries)
        # a violated row leaves the vertex infeasible, for the dual simplex to repair; a row of a newly
        # recommendable action reads 0 at the vertex (its columns are all new), which stays feasible
        for a, b in sorted(new_rows):
            tableau.add_row([obedience_coefficient(prior, U, w, x, a, b) if kind == "x" else zero
                             for kind, (w, x) in ids])
            index["s", (a, b)] = len(ids)
            ids.append(("s", (a, b)))
            P.append((a, b))


def _add_column(tableau: RationalTableau, ids: list, index: dict, P: list, prior, V, U, m: int, base: tuple,
                new: tuple):
    """Add column ``x[new]`` to ``tableau`` as the present column ``x[base]`` of the same state plus slack
    columns: the two differ only in obedience rows, where each slack column is ``-1``.  ``ids`` and its
    positions ``index`` gain the new column."""
    (w, a), (_, a0) = new, base
    combination = {index["x", base]: Fraction(1)}
    column = [Fraction(int(s == w)) for s in range(m)]
    for row in P:
        g, g0 = obedience_coefficient(prior, U, w, a, *row), obedience_coefficient(prior, U, w, a0, *row)
        column.append(g)
        if g != g0:                      # column - base is (g - g0) e_row = (g0 - g) * (the row's slack column)
            combination[index["s", row]] = g0 - g
    tableau.add_column(column, prior[w] * V[w, a], combination)
    index["x", new] = len(ids)
    ids.append(("x", new))


def _check_size(R: int, N: int, rounds: int, max_entries: int) -> None:
    if R * (N + 1) > max_entries:
        raise CertificateError(f"solve(): the exact generation's restricted LP grew to {R} rows and {N} "
                               f"columns in round {rounds}, past its limit of {max_entries} tableau entries")


def _from_near_basis(c, A, b, cold, index, near_cols, near_rows, P) -> RationalTableau:
    """The first restricted LP's tableau: at the float solver's basis where it is one (the right size and
    non-singular; feasible or not, :meth:`RationalTableau.solve` starts from any basis), else at full
    revelation."""
    if near_cols:
        near = [index[("x", x)] for x in near_cols] + [index[("s", p)] for p in P if p not in near_rows]
        if len(near) == len(A):
            try:
                return RationalTableau(c, A, b, near)
            except SimplexError:
                pass                     # singular: start over from full revelation
    return RationalTableau(c, A, b, cold)


def _pair(x) -> tuple[int, int]:
    return int(x[0]), int(x[1])


def _violated_rows(prior, U, scheme, present: set) -> set:
    """Obedience rows ``(a, a')`` of recommended actions that ``scheme`` violates, exactly
    (:func:`persuasion.lp.recommended_slacks`): at most :data:`ROWS_PER_ACTION` per action, the most violated
    first."""
    used, O = recommended_slacks(prior, U, scheme)
    out = set()
    for i, a in enumerate(used.tolist()):
        slacks = sorted((O[i, b], b) for b in range(U.shape[1]) if b != a and (a, b) not in present and O[i, b] < 0)
        out |= {(a, b) for _, b in slacks[:ROWS_PER_ACTION]}
    return out


def _priced_columns(prior, V, U, y, lam, present: set) -> set:
    """Absent columns ``x[w, a]`` whose exact reduced cost (minus :func:`persuasion.lp.dual_slacks`) is
    positive, at most :data:`COLS_PER_STATE` per state, the largest first."""
    slack = dual_slacks(prior, V, U, y, lam)
    m, n = U.shape
    out = set()
    for w in range(m):
        priced = sorted((slack[w, a], a) for a in range(n) if (w, a) not in present and slack[w, a] < 0)
        out |= {(w, a) for _, a in priced[:COLS_PER_STATE]}
    return out
