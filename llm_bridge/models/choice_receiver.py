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
    """Option choices with a shared-head cache, from any engine's model (:mod:`llm_bridge.models.language_model`'
    ``LanguageModel`` or :class:`llm_bridge.models.llama_engine.LlamaCppModel`): it needs ``format``, ``encode``,
    ``continuation_logits`` and ``next_logits``."""

    def __init__(self, lm):
        self.lm = lm
        self.name = lm.config.name_or_path

    def _split(self, head: str, tail: str) -> tuple[str, str]:
        full = self.lm.format(head + _MARK + tail)
        i = full.index(_MARK)
        return full[:i], full[i + len(_MARK):]

    def _option_ids(self, where: str, options) -> tuple[list[int], list[str]]:
        """Each option's first token, and the options as a checked list."""
        from .field_rules import option_list
        options = option_list(where, options)
        ids = []
        for o in options:
            toks = self.lm.encode(o)
            if not toks:
                raise ValueError(f"ChoiceReceiver: option {o!r} encodes to no token")
            ids.append(toks[0])
        if len(set(ids)) != len(ids):
            raise ValueError(f"ChoiceReceiver: options {list(options)} do not start with distinct tokens")
        return ids, options

    @staticmethod
    def _decide(text: str, logits, opt_ids: list[int], options) -> Choice:
        import numpy as np
        z = np.asarray(logits, dtype=np.float64)[opt_ids]
        p = np.exp(z - z.max())
        p = (p / p.sum()).tolist()
        k = max(range(len(options)), key=lambda j: p[j])
        return Choice(text, options[k], dict(zip(options, p)), int(np.argmax(logits)) in opt_ids)

    def choose(self, head: str, tails: list[str], options=("A", "B")) -> list[Choice]:
        """The Receiver's choice for each prompt ``head + tail``."""
        from .field_rules import text_list
        tails = text_list("ChoiceReceiver.choose()", "tails", tails)    # one string was one tail per character
        opt_ids, options = self._option_ids("ChoiceReceiver.choose()", options)
        if not tails:
            return []
        pieces = [self._split(head, t) for t in tails]
        head_text = pieces[0][0]
        if any(p[0] != head_text for p in pieces):
            raise ValueError("ChoiceReceiver.choose: the chat template moved text across the head/tail boundary")
        logits = self.lm.continuation_logits(head_text, [t for _, t in pieces])
        return [self._decide(h + t, z, opt_ids, options) for (h, t), z in zip(pieces, logits)]

    def choose_after(self, prompt: str, reply: str, options=(" Yes", " No")) -> Choice:
        """The choice the Receiver makes part-way through its own reply: the option it would write next
        after the user turn ``prompt`` and the start of its answer ``reply`` (e.g. its reasoning up to
        'Decision:'); the options are the words as they follow ``reply``, with their leading space."""
        opt_ids, options = self._option_ids("ChoiceReceiver.choose_after()", options)
        text = self.lm.format(prompt) + reply
        return self._decide(text, self.lm.next_logits(text), opt_ids, options)

    def choose_full(self, prompt: str, options=("A", "B")) -> Choice:
        """The same decision from one uncached evaluation of the whole prompt (the reference)."""
        opt_ids, options = self._option_ids("ChoiceReceiver.choose_full()", options)
        text = self.lm.format(prompt)
        return self._decide(text, self.lm.next_logits(text, reuse_cache=False), opt_ids, options)


def as_choice_receiver(model):
    """A Receiver that chooses between options: a served model chooses itself (its ``choose`` reads the
    server's log-probabilities); a model in process is wrapped in :class:`ChoiceReceiver`."""
    return model if callable(getattr(model, "choose", None)) else ChoiceReceiver(model)
