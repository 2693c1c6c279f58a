"""A Receiver model that reads a prompt and answers with one option letter.

The Receiver's action is its own output: the option token the model emits
next, with decoding restricted to the option letters (so the answer is always
parseable), read off one forward pass.  The probabilities of the options
are kept: they are the Receiver's choice distribution, used to fit response
models.

Many prompts share a long head (the problem, the proposal) and differ only
in a short tail (the signal, the statement of the scheme, the question).
:meth:`ChoiceReceiver.choose` runs the head once, keeps its key/value cache,
and runs each tail on top of it, cropping the cache back after each tail:
the same logits as the whole prompt (a test checks), at the cost of the
tails.  The split is made after chat formatting, at the text boundary, and
each side is tokenised on its own; the head should end with a newline so no
token straddles the boundary.
"""
from __future__ import annotations

from dataclasses import dataclass

_MARK = "\uE000"          # private-use character: marks the head/tail boundary inside the chat template


@dataclass(frozen=True)
class Choice:
    """One decision: the option the Receiver emitted and its distribution over the options."""

    prompt: str                 # the full prompt text as the model read it (chat formatting included)
    letter: str                 # the option it emitted (argmax over the option tokens)
    probs: dict                 # option -> probability, renormalised over the options
    on_format: bool             # whether its unrestricted top token was one of the options


class ChoiceReceiver:
    """Wraps a :class:`~llm_bridge.models.LanguageModel` for option choices with a shared-head cache."""

    def __init__(self, lm):
        self.lm = lm
        self.name = lm.config.name_or_path

    def _split(self, head: str, tail: str) -> tuple[str, str]:
        full = self.lm._format(head + _MARK + tail)
        i = full.index(_MARK)
        return full[:i], full[i + len(_MARK):]

    def _option_ids(self, options) -> list[int]:
        ids = []
        for o in options:
            toks = self.lm.tokenizer(o, add_special_tokens=False)["input_ids"]
            if not toks:
                raise ValueError(f"ChoiceReceiver: option {o!r} encodes to no token")
            ids.append(toks[0])
        if len(set(ids)) != len(ids):
            raise ValueError(f"ChoiceReceiver: options {list(options)} do not start with distinct tokens")
        return ids

    def choose(self, head: str, tails: list[str], options=("A", "B")) -> list[Choice]:
        """The Receiver's choice for each prompt ``head + tail``."""
        import torch
        tok, model = self.lm.tokenizer, self.lm.model
        dev = self.lm.config.device
        opt_ids = self._option_ids(options)
        pieces = [self._split(head, t) for t in tails]
        head_text = pieces[0][0]
        if any(p[0] != head_text for p in pieces):
            raise ValueError("ChoiceReceiver.choose: the chat template moved text across the head/tail boundary")
        head_ids = tok(head_text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(dev)
        out = []
        with torch.no_grad():
            res = model(input_ids=head_ids, use_cache=True)
            cache, n_head = res.past_key_values, head_ids.shape[1]
            for head_text_i, tail_text in pieces:
                tail_ids = tok(tail_text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(dev)
                pos = torch.arange(n_head, n_head + tail_ids.shape[1], device=dev).unsqueeze(0)
                logits = model(input_ids=tail_ids, past_key_values=cache, position_ids=pos,
                               use_cache=True).logits[0, -1].float()
                cache.crop(-tail_ids.shape[1])     # negative: tokens to remove (same meaning in every 5.x)
                p = torch.softmax(logits[opt_ids], dim=-1).tolist()
                k = max(range(len(options)), key=lambda j: p[j])
                out.append(Choice(head_text_i + tail_text, options[k], dict(zip(options, p)),
                                  int(logits.argmax()) in opt_ids))
        return out

    def choose_full(self, prompt: str, options=("A", "B")) -> Choice:
        """The same decision from one uncached forward pass over the whole prompt (the reference)."""
        import torch
        text = self.lm._format(prompt)
        ids = self.lm.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(
            self.lm.config.device)
        opt_ids = self._option_ids(options)
        with torch.no_grad():
            logits = self.lm.model(input_ids=ids).logits[0, -1].float()
        p = torch.softmax(logits[opt_ids], dim=-1).tolist()
        k = max(range(len(options)), key=lambda j: p[j])
        return Choice(text, options[k], dict(zip(options, p)), int(logits.argmax()) in opt_ids)
