"""Bundled example games, stored as JSON files beside this module.

>>> from persuasion import examples
>>> examples.names()
['investment_advice', 'prosecutor_judge', 'reasoning_hint', 'single_belief_middle']
>>> examples.load("prosecutor_judge").actions
('acquit', 'convict')
"""
from __future__ import annotations

import json
from importlib import resources

from ..errors import InvalidArgumentError
from ..game import PersuasionGame


def names() -> list[str]:
    """Names of the bundled games, sorted."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".json"))


def path(name: str):
    """Path of a bundled game's JSON file (a ``Traversable``)."""
    if name not in names():
        raise InvalidArgumentError("examples.path()", "name", f"must be one of {names()}", name)
    return resources.files(__name__) / f"{name}.json"


def description(name: str) -> str:
    """The one-paragraph description stored with a bundled game."""
    return json.loads(path(name).read_text(encoding="utf-8")).get("description", "")


def load(name: str) -> PersuasionGame:
    """A bundled game by name."""
    return PersuasionGame.from_json(path(name).read_text(encoding="utf-8"))


def prosecutor_judge() -> PersuasionGame:
    """The prosecutor-judge game of Kamenica and Gentzkow (2011): value 3/5."""
    return load("prosecutor_judge")
