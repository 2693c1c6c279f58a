"""The next token's choice in our decode loop reduces over the vocabulary in two stages (within 1,024-entry
chunks, then across them): its argmax and log-sum-exp must equal torch's one-stage ones on any scores, ties
and -inf entries included (the entries a minimum length or top-k remove).  Also on CUDA where there is one.
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=60, deadline=None)
@given(batch=hs.integers(1, 3), vocab=hs.integers(1, 5000), levels=hs.integers(1, 6), seed=hs.integers(0, 2**31),
       masked=hs.floats(0.0, 0.99))
def test_two_stage_argmax_and_logsumexp_equal_torch(device, batch, vocab, levels, seed, masked):
    """Few distinct values make ties; entries set to -inf (never all of a row) are what a minimum length or
    top-k leave."""
    from llm_bridge.models.static_decoder import _argmax, _logsumexp
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, levels, (batch, vocab), generator=g).float() * 0.7
    drop = torch.rand((batch, vocab), generator=g) < masked
    drop[:, torch.randint(0, vocab, (1,), generator=g)] = False
    x = x.masked_fill(drop, float("-inf"))
    x = x.to(device)
    assert torch.equal(_argmax(x), torch.argmax(x, dim=-1))
    assert torch.allclose(_logsumexp(x), torch.logsumexp(x, dim=-1), rtol=1e-6, atol=1e-6)
