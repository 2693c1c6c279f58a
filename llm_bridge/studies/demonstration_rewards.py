"""Rewards built from demonstrations alone (AfD's Init-SFT reward), with no preference labels.

Two rewards score a completion ``y`` of a prompt ``x``:

* :class:`InitSFTClassifier`: a classifier trained to tell samples of the
  SFT policy (positives) from samples of the initial policy (negatives); its
  log-odds is the reward.  Architecture: hashed token n-grams (unigrams and
  bigrams of the completion's token ids, ``2**18`` buckets, ``log(1 + count)``
  then unit L2 norm) into an L2-regularised logistic regression
  (scikit-learn).  The AfD paper trains a language-model reward head; a
  linear model over tokens is what two CPU cores can train and score here,
  and says which surface features separate the two policies.
* :func:`log_ratio`: the training-free ``log pi_SFT(y|x) - log pi_init(y|x)``,
  which is the log-odds of the Bayes-optimal such classifier when both
  policies sample equally often.

And two controls for what such a reward learns: :func:`format_reward` (1 when
a completion states its answer in the asked format, else 0) and
:func:`without_format` (the completion with its format lines removed, on
which a classifier can be trained and scored to see what it learns beyond
the format).

>>> clf = InitSFTClassifier(seed=0).fit([[1, 2, 3], [1, 2, 4], [7, 8], [7, 9]], [1, 1, 0, 0])
>>> (clf.score([[1, 2, 5], [7, 8, 8]]) > 0).tolist()
[True, False]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _ngrams(ids) -> list[str]:
    ids = [int(t) for t in ids]
    return [f"u{t}" for t in ids] + [f"b{a}_{b}" for a, b in zip(ids, ids[1:])]


def _labels(where: str, labels) -> np.ndarray:
    """0/1 labels as ints; 0.7 or NaN is refused (casting to int made 0.7 an initial sample, silently)."""
    from .stats import binary_outcomes
    return binary_outcomes(where, "labels", labels, "0 (initial) or 1 (SFT)").astype(int)


@dataclass
class InitSFTClassifier:
    """Logistic regression on hashed token n-grams: SFT samples (label 1) against initial samples (label 0)."""

    n_features: int = 2 ** 18     # hash buckets
    c: float = 1.0                # inverse L2 strength (scikit-learn's C)
    seed: int = 0

    def features(self, token_ids: list[list[int]]):
        """Sparse feature rows, one per completion."""
        from sklearn.feature_extraction import FeatureHasher
        from sklearn.preprocessing import normalize
        x = FeatureHasher(n_features=self.n_features, input_type="string",
                          alternate_sign=False).transform(_ngrams(t) for t in token_ids)
        x.data = np.log1p(x.data)
        return normalize(x)

    def fit(self, token_ids: list[list[int]], labels) -> "InitSFTClassifier":
        from sklearn.linear_model import LogisticRegression
        y = _labels("InitSFTClassifier.fit()", labels)
        if len(token_ids) != y.size:
            raise ValueError(f"InitSFTClassifier.fit(): {len(token_ids)} completions but {y.size} labels")
        if set(np.unique(y).tolist()) != {0, 1}:
            raise ValueError(f"InitSFTClassifier.fit(): labels must hold both 0 (initial) and 1 (SFT); got {sorted(set(y.tolist()))}")
        self.model_ = LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed)
        self.model_.fit(self.features(token_ids), y)
        return self

    def score(self, token_ids: list[list[int]]) -> np.ndarray:
        """The reward: log-odds that each completion came from the SFT policy."""
        if not hasattr(self, "model_"):
            raise RuntimeError("score: fit the classifier first")
        return self.model_.decision_function(self.features(token_ids))


def held_out_accuracy(token_ids, labels, groups, test_fraction: float = 0.25, seed: int = 0, c: float = 1.0) -> dict:
    """Fit the classifier on the completions of some prompts (``groups``) and test it on the others:
    accuracy, AUC, and the test rows with their scores (to compare with the log-ratio on the same rows)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupShuffleSplit
    y = _labels("held_out_accuracy()", labels)
    split = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train, test = next(split.split(np.zeros(y.size), y, groups))
    clf = InitSFTClassifier(c=c, seed=seed).fit([token_ids[i] for i in train], y[train])
    s = clf.score([token_ids[i] for i in test])
    return {"n_train": int(train.size), "n_test": int(test.size), "accuracy": float(((s > 0) == y[test]).mean()),
            "auc": float(roc_auc_score(y[test], s)), "test_index": test.tolist(), "test_scores": s.tolist()}


def without_format(text: str, task: str) -> str:
    """``text`` without the lines that carry the asked answer format: the ``#### <answer>`` lines (maths) or
    the code-fence lines (code, ``task == "humaneval"``).

    >>> without_format("2 + 3 = 5\\n#### 5", "chain_sum")
    '2 + 3 = 5'
    """
    mark = "```" if task == "humaneval" else "####"
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(mark))


def format_reward(texts, task: str) -> np.ndarray:
    """1.0 for each completion that states its answer in a form the strict extraction reads, else 0.0: a
    ``#### <number>`` line or a boxed answer (maths), or a fenced code block (code)."""
    from llm_bridge.tasks.checkers import extract_answer
    if task == "humaneval":
        return np.array([1.0 if "```" in t else 0.0 for t in texts])
    return np.array([1.0 if extract_answer(t, "strict") else 0.0 for t in texts])


def log_ratio(logp_sft, logp_init) -> np.ndarray:
    """``log pi_SFT(y|x) - log pi_init(y|x)`` (sequence log-probabilities)."""
    a, b = np.asarray(logp_sft, dtype=float), np.asarray(logp_init, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"log_ratio: shapes differ, {a.shape} and {b.shape}")
    return a - b
