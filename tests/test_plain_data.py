"""The plain-data boundary between a candidate and its tests (llm_bridge.tasks.plain_data).

Properties: every plain value survives a round trip through one JSON line
with its exact types (tuples stay tuples, -0.0 stays -0.0, dict keys of any
plain type); nothing else can be encoded; anything that is not an encoded
plain value is refused on decoding; and writing a callee's mutations back
makes the caller's containers equal to the callee's, in place.
"""
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.tasks.plain_data import MAX_DEPTH, decode, dumps, encode, write_back

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(), st.binary(max_size=16), st.complex_numbers(allow_nan=False))
hashable = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
                        lambda inner: st.tuples(inner, inner), max_leaves=4)
plain = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
    st.dictionaries(hashable, inner, max_size=4), st.frozensets(hashable, max_size=4), st.sets(hashable, max_size=4)),
    max_leaves=20)


def same(a, b) -> bool:
    """Equal with exactly the same types all the way down (and -0.0 told from 0.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@given(plain)
def test_round_trip_keeps_value_and_exact_types(v):
    assert same(decode(json.loads(dumps(encode(v)))), v)


def test_special_floats_and_surrogates_survive():
    for v in (float("inf"), -float("inf"), -0.0, "\ud800", 10 ** 4000):
        got = decode(json.loads(dumps(encode(v))))
        assert same(got, v)
    assert math.isnan(decode(json.loads(dumps(encode(float("nan"))))))


class Liar:
    def __eq__(self, other):
        return True


class MyInt(int):
    pass


@pytest.mark.parametrize("bad", [Liar(), MyInt(3), [1, Liar()], {"k": MyInt(1)}, (x for x in ()), object(),
                                 {Liar: 1}, bytearray(b"x")])
def test_only_plain_data_can_be_encoded(bad):
    with pytest.raises(TypeError):
        encode(bad)


def test_nesting_is_bounded():
    deep = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(TypeError):
        encode(deep)


@pytest.mark.parametrize("bad", [{"tuple": 3}, {"dict": [[1]]}, {"a": 1, "b": 2}, {"Liar": []},
                                 {"complex": ["x", 1]}, {"bytes": 5}, {"set": [[1]]}])
def test_anything_else_is_refused_on_decoding(bad):
    with pytest.raises((ValueError, TypeError)):
        decode(bad)


@given(plain, plain)
def test_write_back_makes_the_caller_equal_to_the_callee(a, b):
    if type(a) is not type(b) or type(a) not in (list, dict, set):
        return
    original = a
    write_back(original, b)
    assert original is a and same(original, b) if type(a) is not set else original == b


def test_write_back_reaches_inner_lists_the_caller_holds():
    inner = [3, 1, 2]
    outer = [inner, "x"]
    write_back(outer, [[1, 2, 3], "x"])
    assert inner == [1, 2, 3] and outer[0] is inner
