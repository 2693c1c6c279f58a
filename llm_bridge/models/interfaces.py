"""What the games ask of a model, declared: a :class:`Receiver` decides, an :class:`Advisor` writes.

Every engine is one of these or both, and a conformance suite (``tests/test_interfaces.py``) runs the
same checks on each implementation:

* ``receiver.ChoiceReceiver`` (on either engine): a Receiver;
* ``models.LanguageModel`` (transformers) and ``llama_engine.LlamaCppModel``: Advisors;
* ``openai_receiver.OpenAICompatibleReceiver`` (a served model): both.

("Advisor" names the role that writes text; a Receiver that writes its answer in the generation game
uses the same calls.)  The checks are structural (:func:`isinstance` against these protocols looks at
the methods' names only); what the methods must return is what the conformance suite tests.

>>> from llm_bridge.models.interfaces import Advisor, Receiver
>>> class Decider:
...     def choose(self, head, tails, options=("A", "B")): ...
...     def choose_full(self, prompt, options=("A", "B")): ...
>>> isinstance(Decider(), Receiver), isinstance(Decider(), Advisor)
(True, False)
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Receiver(Protocol):
    """Decides between options: one :class:`~llm_bridge.models.choice_receiver.Choice` per prompt ``head + tail``.

    ``choose`` may share work across the tails (a cache of the head); ``choose_full`` evaluates one whole
    prompt with nothing shared and is the reference ``choose`` must agree with.
    """

    def choose(self, head: str, tails: list[str], options=("A", "B")) -> list: ...

    def choose_full(self, prompt: str, options=("A", "B")): ...


@runtime_checkable
class Advisor(Protocol):
    """Writes text: completions of prompts, and completions with the log-probability of their tokens
    (:class:`~llm_bridge.models.language_model.Generation`), under a :class:`~llm_bridge.models.language_model.SamplingConfig`."""

    def generate(self, prompts: list[str], sampling=None, progress: bool = False) -> list[str]: ...

    def generate_scored(self, prompts: list[str], sampling=None, progress: bool = False) -> list: ...
