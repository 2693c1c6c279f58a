"""The games played with real models: their items, rules and the models of the Receiver.

Owns the review game (``review_game``: the Receiver decides whether to submit a proposal, built from
``proposals``), the draft game (``draft_game``: the Receiver writes the answer after a partial solution,
with ``hints`` making the drafts), the pair game (``pair_game``: it builds on one of two drafts, one with a
mistake), the models of the Receiver the core optimises against
(``receiver_models``: Bayesian with an identified threshold set, credulous, fitted), and the estimation
of a game from logged play (``estimation``).  Models and tasks come from :mod:`llm_bridge.models` and
:mod:`llm_bridge.tasks`; the exact solving from :mod:`persuasion`.
"""
