"""What a comparison of a saved AfD run's pools can detect, and what the samples look like.

Two questions asked of every new training before and after it runs
(``docs/afd_results.md``), answered from the pools a run saved and nothing else:

* **Detectable size.**  The smallest mean paired difference in pass@1, pass@k
  or distinct answers that a two-sided test at Holm's smallest level
  (``alpha / n_tests``) finds with the given power, by the normal
  approximation, ``(z(1 - alpha / 2 n_tests) + z(power)) * sd / sqrt(n)``,
  where ``sd`` is the standard deviation of the per-problem differences of
  two pools.  Before a run, the pair's SD comes from two saved pools that
  stand in for it; after, from the pools themselves (the *realised* size).
  The paired sign-flip test the study uses is close to this z-test at
  n = 200.
* **Sample shapes.**  Per pool: how many samples are empty, cut at the token
  limit, one line, state their answer in the asked format (the run's
  format-only reward: a ``####`` line or a boxed answer that the strict
  reading finds), and open with an equation ``a + b = c`` or ``a - b = c``,
  and of those how many have that equation's own arithmetic right (whatever
  the sum asked).

Every pool is cut to its first ``size`` samples per problem, as the study's
comparisons cut them.

>>> round(detectable_difference(sd=0.3, n=200, n_tests=1), 4)    # one test at 0.05: 2.80 sd / sqrt(n)
0.0594
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from persuasion.errors import is_integer

# an opening equation of two integer terms, signs allowed on the terms: "12 + 7 = 19", "4-1=3"
EQUATION = re.compile(r"\s*(-?\d+)\s*([+-])\s*(-?\d+)\s*=\s*(-?\d+)")


def detectable_difference(sd: float, n: int, n_tests: int = 1, power: float = 0.8, alpha: float = 0.05) -> float:
    """The smallest mean paired difference that a two-sided z-test at level ``alpha / n_tests`` (Holm's
    smallest) detects with probability ``power`` among ``n`` pairs whose differences have standard deviation
    ``sd`` (the normal approximation; the chance of a rejection in the wrong direction is ignored)."""
    from scipy.stats import norm
    if not is_integer(n, minimum=2):              # True was read as 1 pair (True as 1 test below)
        raise ValueError(f"detectable_difference: n must be an integer >= 2 (pairs); got {n!r}")
    if not is_integer(n_tests, minimum=1):
        raise ValueError(f"detectable_difference: n_tests must be an integer >= 1; got {n_tests!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"detectable_difference: alpha and power must lie in (0, 1); got {alpha} and {power}")
    if not sd >= 0:
        raise ValueError(f"detectable_difference: sd must be >= 0; got {sd}")
    return float((norm.ppf(1 - alpha / (2 * n_tests)) + norm.ppf(power)) * sd / np.sqrt(n))


def load_pools(folder, policies) -> tuple[dict, dict]:
    """The pools of ``policies`` in a run's folder (``pool.jsonl`` for init and SFT, ``<policy>_pool.jsonl``
    for a trained route; plain or gzipped), keyed by (policy, problem), and the run's config (``split.json``)."""
    from .afd_experiment import POLICIES, _joined, _read_jsonl
    folder = Path(folder)
    split = folder / "split.json"
    if not split.exists():
        raise FileNotFoundError(f"load_pools: no split.json in {folder}; is it a finished AfD run's folder?")
    cfg = json.loads(split.read_text())["config"]
    pools = {}
    for pol in dict.fromkeys(policies):
        name = "pool.jsonl" if pol in POLICIES else f"{pol}_pool.jsonl"
        found = {k: v for k, v in _joined(_read_jsonl(folder / name)).items() if k[0] == pol}
        if not found:
            raise FileNotFoundError(f"load_pools: no pool of policy {pol!r} in {folder} (looked in {name} and "
                                    f"{name}.gz)")
        pools.update(found)
    return pools, cfg


def _problems(pools: dict, policy: str) -> list[str]:
    return sorted(pid for pol, pid in pools if pol == policy)


def _rows(pools: dict, policy: str, problems: list[str], size: int) -> list[dict]:
    if not is_integer(size, minimum=1):
        raise ValueError(f"size must be an integer >= 1 (samples per problem); got {size!r}")
    rows = []
    for pid in problems:
        r = pools[(policy, pid)]
        if len(r["texts"]) < size:
            raise ValueError(f"size={size} is more than policy {policy!r}'s pool holds for {pid} "
                             f"({len(r['texts'])} samples)")
        rows.append({k: (v[:size] if isinstance(v, list) else v) for k, v in r.items()})
    return rows


def pair_values(pools: dict, a: str, b: str, size: int, mode: str) -> dict:
    """Per measure (pass@1, pass@``size``, distinct answers): the per-problem differences ``a - b`` on pools
    cut to ``size``, over the problems both pools hold (refused unless they hold the same ones)."""
    from .afd_baselines import per_problem_values
    problems = _problems(pools, a)
    if problems != _problems(pools, b):
        raise ValueError(f"pair_values: policies {a!r} and {b!r} were not sampled on the same problems")
    va, vb = (per_problem_values(_rows(pools, p, problems, size), [1, size], mode) for p in (a, b))
    return {"pass@1": va["pass"][1] - vb["pass"][1], "pass@k": va["pass"][size] - vb["pass"][size],
            "distinct answers": va["distinct"] - vb["distinct"]}


def pair_detectable(pools: dict, a: str, b: str, n_tests: int, size: int, mode: str, power: float = 0.8) -> dict:
    """Per measure: the observed mean difference ``a - b``, the SD of the per-problem differences (n - 1), the
    number of problems, and the detectable size at Holm's smallest level over ``n_tests``
    (:func:`detectable_difference`)."""
    out = {}
    for measure, d in pair_values(pools, a, b, size, mode).items():
        sd = float(d.std(ddof=1))
        out[measure] = {"diff": float(d.mean()), "sd": sd, "n": int(d.size),
                        "detectable": detectable_difference(sd, int(d.size), n_tests, power)}
    return out


def equation_shape(text: str) -> bool | None:
    """Whether ``text`` opens with an equation ``a + b = c`` or ``a - b = c`` whose own arithmetic is right:
    True or False, or None when it opens with no such equation.

    >>> equation_shape("12 + 7 = 19\\n#### 19"), equation_shape("4-1=2"), equation_shape("The answer is 3")
    (True, False, None)
    >>> equation_shape("-3 - -4 = 1")
    True
    """
    m = EQUATION.match(text)
    if m is None:
        return None
    x, op, y, z = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
    return (x + y if op == "+" else x - y) == z


def sample_shapes(pools: dict, policy: str, size: int, max_new_tokens: int, task: str) -> dict:
    """What ``policy``'s samples (cut to ``size`` per problem) look like: counts of empty ones, ones cut at the
    token limit (``max_new_tokens`` tokens or more) and all; shares of one-line ones, of ones in the asked
    format (``format_rate``, :func:`~.demonstration_rewards.format_reward` for ``task``, as the run's report
    counts it) and of ones opening with an equation (:func:`equation_shape`); the share of those equations
    whose arithmetic is right; and the mean length in tokens."""
    from .afd_baselines import text_shapes
    from .afd_experiment import pool_make_up
    rows = _rows(pools, policy, _problems(pools, policy), size)
    texts = [t for r in rows for t in r["texts"]]
    make_up = pool_make_up(texts, [n for r in rows for n in r["n_tokens"]], max_new_tokens, task)
    eq = [equation_shape(t) for t in texts]
    opened = [e for e in eq if e is not None]
    return {"n_samples": len(texts), "n_problems": len(rows),
            "empty": sum(1 for t in texts if not t.strip()),
            "truncated": round(make_up["truncated"] * len(texts)),
            "single_line": sum(text_shapes(list(r["texts"]))[0] for r in rows) / len(texts),
            "format_rate": make_up["format_rate"],
            "opens_with_equation": len(opened) / len(texts),
            "equation_right": (sum(opened) / len(opened)) if opened else None,
            "mean_tokens": make_up["mean_tokens"]}
