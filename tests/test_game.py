"""PersuasionGame: validation (every rule, with its documented error) and JSON."""
from fractions import Fraction

import numpy as np
import pytest

from persuasion import GameFileError, InvalidGameError, PersuasionGame
from persuasion.game import PRIOR_TOLERANCE

GOOD = dict(prior=[0.5, 0.5], sender=[[0, 1], [0, 1]], receiver=[[1, 0], [0, 1]])


def make(**changes):
    return PersuasionGame(**{**GOOD, **changes})


@pytest.mark.parametrize("changes, argument, fragment", [
    (dict(prior=[0.5, 0.4]), "prior", "must sum to 1 (tolerance 1e-09); got 0.9"),
    (dict(prior=["1/2", "1/3"]), "prior", "must sum to exactly 1"),
    (dict(prior=[1.5, -0.5]), "prior", "non-negative; got -0.5 at index 1"),
    (dict(prior=[np.nan, 1.0]), "prior", "finite"),
    (dict(prior=[]), "prior", "at least one state"),
    (dict(prior=[[0.5, 0.5]]), "prior", "1-D"),
    (dict(sender=[[0, 1]]), "sender", "one row per state"),
    (dict(sender=[[0, np.inf], [0, 1]]), "sender", "finite"),
    (dict(sender=[[], []]), "sender", "at least one action"),
    (dict(sender=[[0, 1], [0]]), "sender", "ragged"),
    (dict(receiver=[[1, 0, 0], [0, 1, 0]]), "receiver", "same shape as sender"),
    (dict(receiver=[[1, float("nan")], [0, 1]]), "receiver", "finite"),
    (dict(receiver=[["x", 0], [0, 1]]), "receiver", "real numbers"),
    (dict(receiver=[[True, False], [False, True]]), "receiver", "not booleans"),
    (dict(states=["a"]), "states", "one label per state (2)"),
    (dict(states=["a", "a"]), "states", "distinct"),
    (dict(actions=["x", "y", "z"]), "actions", "one label per action (2)"),
    (dict(actions="xy"), "actions", "not one string"),
])
def test_bad_input_names_argument_rule_and_value(changes, argument, fragment):
    with pytest.raises(InvalidGameError) as info:
        make(**changes)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.argument == argument
    assert str(err).startswith(f"PersuasionGame(): {argument} ")
    assert fragment in str(err)


def test_float_prior_within_tolerance_is_rescaled():
    g = make(prior=[0.5, 0.5 + PRIOR_TOLERANCE / 2])
    assert g.prior.sum() == pytest.approx(1.0, abs=1e-15)
    assert sum(g.rational()[0]) == 1


def test_accepts_lists_arrays_fractions_ints_and_strings():
    a = PersuasionGame([Fraction(7, 10), Fraction(3, 10)], [[0, 1], [0, 1]], [[1, 0], [0, 1]])
    b = PersuasionGame(np.array(["7/10", "3/10"], dtype=object), np.array([[0, 1], [0, 1]]),
                       np.array([[1, 0], [0, 1]], dtype=np.int64))
    c = PersuasionGame([0.7, 0.3], np.array([[0.0, 1.0], [0.0, 1.0]]), [[1, 0], [0, 1]])
    assert a == b == c
    assert a.is_rational and b.is_rational and not c.is_rational
    assert a.rational()[0][0] == Fraction(7, 10)
    assert c.rational()[0][0] == Fraction(7, 10)   # floats read as the shortest decimal


def test_immutable_and_inputs_not_aliased():
    prior = np.array([0.5, 0.5])
    g = make(prior=prior)
    prior[0] = 0.9
    assert g.prior[0] == 0.5
    with pytest.raises(ValueError):
        g.prior[0] = 0.1
    with pytest.raises(AttributeError):
        g._prior = None
    with pytest.raises(AttributeError):
        g.name = "x"


@pytest.mark.parametrize("game", [
    PersuasionGame(["7/10", "3/10"], [[0, 1], [0, 1]], [[1, 0], [0, 1]], ["innocent", "guilty"],
                   ["acquit", "convict"], name="pj"),
    PersuasionGame([0.25, 0.75], [[0.1, 1.5], [-2.0, 1e-3]], [[1.0, 0.0], [0.0, 1.0]]),
])
def test_json_round_trip(game, tmp_path):
    path = tmp_path / "g.json"
    game.to_json(path)
    back = PersuasionGame.from_json(path)
    assert back == game
    assert back.states == game.states and back.actions == game.actions and back.name == game.name
    assert np.array_equal(back.sender, game.sender)


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"prior": [1]}', "missing required field(s) sender, receiver"),
    ('{"prior": [1], "sender": [[1]], "receiver": [[1]], "colour": 1}', "unknown field(s) colour"),
])
def test_bad_files(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(GameFileError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        PersuasionGame.from_json(path)


def test_missing_file():
    with pytest.raises(GameFileError, match="cannot read game file"):
        PersuasionGame.from_json("/no/such/game.json")


def test_with_prior_keeps_everything_else():
    g = PersuasionGame(["7/10", "3/10"], [[0, 1], [0, 1]], [[1, 0], [0, 1]], ["i", "g"], ["a", "c"])
    h = g.with_prior(["1/2", "1/2"])
    assert h.states == g.states and np.array_equal(h.sender, g.sender) and h.rational()[0][0] == Fraction(1, 2)
