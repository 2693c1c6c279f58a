"""Alignment from demonstrations on maths or code: SFT, the Init-SFT reward, Best-of-N against the checker.

The stages (each resumable; a finished stage is read back, an interrupted
one goes on from its last written problem):

1. **Split.**  GSM-Symbolic problems are split by *template*: held-out
   problems come from templates no demonstration uses.
2. **SFT** (forward KL to the demonstrations): the initial policy is
   fine-tuned on the worked solutions of the demonstration problems.
3. **Classifier data.**  Both policies sample completions of the first
   ``n_classifier_problems`` demonstration prompts; the Init-SFT classifier
   (:class:`~llm_bridge.studies.demonstration_rewards.InitSFTClassifier`) is fitted
   on them, its accuracy measured on prompts it did not see.
4. **Pools.**  Each policy samples ``pool_size`` completions of every
   held-out problem; each completion is checked (math-verify, the golden
   reward) and scored by the other policy, so both log-probabilities are
   known (the log-ratio reward).
5. **Best-of-N.**  For each ``N``, policy and selector: the exact accuracy averaged over every
   ``N``-subset of the pool, one nested draw per problem for Wilson intervals
   and paired McNemar tests, the proxy reward of the kept sample, and the KL
   estimate ``log N - (N-1)/N``.

The selectors (:data:`SELECTORS`): a random pick; the Init-SFT classifier;
the same classifier trained and scored with the answer-format lines removed
(what it learns beyond the format); a classifier of demonstrations against
initial samples (the demonstrations-vs-initial variant); the training-free
log-ratio; a format-only reward (1 when the completion states its answer in
the asked format, else 0: the control that says what a learned reward adds
beyond format); and the oracle (the checker itself: the most any selector of
this pool can reach, and the check that the test could see a gain).

Two families of paired tests, each Holm-corrected: every learned selector
against the random pick, and against the format-only reward, at each N > 1
and policy.  The primary test is draw-free (a paired sign-flip test on the
per-problem exact accuracies over all N-subsets); the exact McNemar test on
one nested draw per problem is reported beside it.  The oracle against the
random pick is the power check, reported apart.

Files in ``out``: ``split.json``, ``sft/`` (the SFT model, ``done.json``; while it trains,
``sft_checkpoint.pt``),
``classifier_samples.jsonl``, ``pool.jsonl``, ``cross_scores.jsonl``,
``report.json``; with the DPO baseline also ``dpo/`` (the DPO model) and
``dpo_pool.jsonl``; with the reverse-KL route ``rkl/`` and ``rkl_pool.jsonl``, and the same pair for
each format-blind training (``rkl_nf``, its replicates ``rkl_nf_s<k>`` and variants, :class:`RklVariant`).
"""
from __future__ import annotations

import json
import re
import time
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import best_of_n as bon
from .demonstration_rewards import InitSFTClassifier, format_reward, held_out_accuracy, log_ratio, without_format
from llm_bridge.games.estimation import wilson
from .run_log import append_lines, read_records
from .stats import holm, mcnemar_exact, paired_sign_flip
from persuasion.atomic import write_atomic
from persuasion.errors import is_integer

POLICIES = ("init", "sft")
# each policy's sampling seeds (init, sft: as in the first run); a replicate rkl_nf_s<k> of the format-blind
# route takes index 5 + k (replicate_name)
SEED_INDEX = {"init": 0, "sft": 1, "dpo": 2, "rkl": 3, "rkl_nf": 4}
BASELINE_KEYS = ("dpo_pool_size", "dpo_beta", "dpo_learning_rate", "dpo_epochs",      # added to a finished run
                 "rkl_pool_size", "rkl_steps", "rkl_learning_rate", "rkl_generations", "rkl_prompts_per_step",
                 "rkl_no_format", "rkl_no_format_seeds", "rkl_no_format_variants")
GROWABLE_KEYS = ("pool_size", "ns")     # raised on a finished run: only the missing samples are drawn
TASKS = ("gsm_symbolic", "chain_sum", "humaneval")
SELECTORS = ("random", "classifier", "classifier_no_format", "demo_classifier", "log_ratio", "format", "oracle")
LEARNED = ("classifier", "classifier_no_format", "demo_classifier", "log_ratio")


@dataclass(frozen=True)
class RklVariant:
    """The format-blind reverse-KL route trained again from the initial policy, with the run's reward and
    these RLOO settings in place of the run's (one left out keeps the run's): the route trained further.
    ``seed``, one of the run's ``rkl_no_format_seeds``, trains it with that replicate's training seed (the
    replicate is then its paired contrast) instead of the run's."""

    steps: int | None = None
    learning_rate: float | None = None
    seed: int | None = None

    def name(self) -> str:
        """The policy's name, from what it changes: ``rkl_nf_t<steps>``, ``rkl_nf_lr<rate>`` or both, then
        ``_s<seed>`` with a seed."""
        return ("rkl_nf" + (f"_t{self.steps}" if self.steps is not None else "")
                + (f"_lr{self.learning_rate:g}" if self.learning_rate is not None else "")
                + (f"_s{self.seed}" if self.seed is not None else ""))

    def settings(self, steps: int, learning_rate: float) -> tuple[int, float]:
        """The (steps, learning rate) it trains with, given the run's."""
        return (steps if self.steps is None else self.steps,
                learning_rate if self.learning_rate is None else self.learning_rate)

    def changes(self) -> str:
        """What it changes, in words (``"120 steps, learning rate 3e-05"``, ``"learning rate 0.0001, training
        seed 1"``)."""
        return ", ".join(c for c in (f"{self.steps} steps" if self.steps is not None else "",
                                     f"learning rate {self.learning_rate:g}" if self.learning_rate is not None
                                     else "",
                                     f"training seed {self.seed}" if self.seed is not None else "") if c)


@dataclass
class AfdConfig:
    """What one AfD run does (defaults: the issue's design, N up to 32; the shipped configs say what ran)."""

    out: str = "results/afd_gsm_smollm2"
    task: str = "gsm_symbolic"          # "gsm_symbolic" or "chain_sum" (worked solutions), "humaneval" (code)
    seed: int = 0
    n_generated: int = 800              # maths problems generated, then split by template
    chain_max_terms: int = 4            # chain_sum only: 2 to this many terms ...
    chain_max_digits: int = 2           # ... of 1 to this many digits
    test_template_fraction: float = 0.4  # share of templates held out
    n_demonstrations: int = 192         # SFT examples (worked solutions)
    n_classifier_problems: int = 100    # demonstration prompts both policies sample for the classifier
    classifier_samples: int = 2         # samples per prompt and policy for the classifier
    classifier_c: float = 1.0           # inverse L2 strength of the classifier
    n_test: int = 100                   # held-out problems
    pool_size: int = 32                 # samples per held-out problem and policy
    ns: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32])
    max_new_tokens: int = 128
    temperature: float = 1.0
    problems_per_call: int = 4          # held-out problems per generate() call (pool_size each)
    sft_epochs: int = 1
    sft_batch_size: int = 8
    sft_learning_rate: float = 5e-5
    sft_max_length: int = 512           # tokens per SFT example (prompt + solution)
    checker_mode: str = "flexible"      # answer extraction: last number ("flexible") or "#### n" ("strict")
    dpo_pool_size: int = 0              # > 0: the DPO baseline (afd_baselines), this many samples per held-out problem
    dpo_beta: float = 0.1               # DPO's inverse temperature (trl's beta)
    dpo_learning_rate: float = 1e-5
    dpo_epochs: int = 1
    rkl_pool_size: int = 0              # > 0: the reverse-KL route (afd_reverse_kl), this many samples per problem
    rkl_steps: int = 50                 # RLOO updates on the demonstration prompts
    rkl_learning_rate: float = 1e-5
    rkl_generations: int = 4            # samples per prompt and update (the leave-one-out group)
    rkl_prompts_per_step: int = 8
    rkl_no_format: bool = False         # also the route on a reward blind to the format lines (policy "rkl_nf")
    rkl_no_format_seeds: list[int] = field(default_factory=list)  # that route trained again with these training
                                        # seeds (policies rkl_nf_s<seed>; rkl_nf itself trains with `seed`)
    rkl_no_format_variants: list[RklVariant] = field(default_factory=list)  # that route trained again with
                                        # `seed` and other RLOO settings (RklVariant; TOML: a list of tables)
    instruction: str = "Solve the problem step by step. End with a last line of the form '#### <number>'."

    def __post_init__(self):
        from llm_bridge.models.field_rules import integers_at_least, numbers_in
        integers_at_least(self, 1, "n_generated", "n_demonstrations", "n_classifier_problems", "classifier_samples",
                          "n_test", "pool_size", "max_new_tokens", "problems_per_call", "sft_epochs", "sft_batch_size",
                          "sft_max_length", "dpo_epochs", "rkl_steps", "rkl_prompts_per_step")
        integers_at_least(self, 0, "seed", "dpo_pool_size", "rkl_pool_size")
        numbers_in(self, "> 0", "classifier_c", "sft_learning_rate", "dpo_beta", "dpo_learning_rate", "rkl_learning_rate")
        numbers_in(self, ">= 0", "temperature")
        ns = list(self.ns)        # 2.5 failed only at the evaluation, after training; [4, 4] gave best-of-4 twice
        if (not ns or not all(is_integer(n, minimum=1) for n in ns) or any(b <= a for a, b in zip(ns, ns[1:]))
                or ns[-1] > self.pool_size):
            raise ValueError(f"AfdConfig: ns must be increasing integers, none repeated, between 1 and "
                             f"pool_size={self.pool_size}; got {self.ns}")
        if self.task not in TASKS:
            raise ValueError(f"AfdConfig: task must be one of {list(TASKS)}; got {self.task!r}")
        if self.chain_max_terms < 2 or self.chain_max_digits < 1:
            raise ValueError(f"AfdConfig: chain_max_terms must be >= 2 and chain_max_digits >= 1; got "
                             f"{self.chain_max_terms} and {self.chain_max_digits}")
        from llm_bridge.tasks.checkers import EXTRACTION_MODES          # the extraction's own list of modes
        if self.checker_mode not in EXTRACTION_MODES:
            raise ValueError(f"AfdConfig: checker_mode must be one of {EXTRACTION_MODES}; got {self.checker_mode!r}")
        if not 0 < self.test_template_fraction < 1:
            raise ValueError(f"AfdConfig: test_template_fraction must lie in (0, 1); got {self.test_template_fraction}")
        if self.n_classifier_problems > self.n_demonstrations:
            raise ValueError("AfdConfig: n_classifier_problems must not exceed n_demonstrations")
        if self.rkl_generations < 2:         # the other RLOO settings are checked with the rules above
            raise ValueError(f"AfdConfig: RLOO's leave-one-out group needs rkl_generations >= 2; got "
                             f"{self.rkl_generations!r}")
        seeds = self.rkl_no_format_seeds
        if seeds and not (self.rkl_no_format and self.rkl_pool_size):
            raise ValueError(f"AfdConfig: rkl_no_format_seeds replicate the format-blind route, so they need "
                             f"rkl_no_format = true and rkl_pool_size > 0; got {self.rkl_no_format} and "
                             f"{self.rkl_pool_size}")
        if any(not is_integer(k, minimum=0) or k == self.seed for k in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"AfdConfig: rkl_no_format_seeds must be distinct integers >= 0 other than "
                             f"seed={self.seed} (the first training's); got {seeds}")
        self.rkl_no_format_variants = [RklVariant(**v) if isinstance(v, dict) else v
                                       for v in self.rkl_no_format_variants]
        variants = self.rkl_no_format_variants
        if variants and not (self.rkl_no_format and self.rkl_pool_size):
            raise ValueError(f"AfdConfig: rkl_no_format_variants train the format-blind route again, so they need "
                             f"rkl_no_format = true and rkl_pool_size > 0; got {self.rkl_no_format} and "
                             f"{self.rkl_pool_size}")
        for v in variants:
            if not isinstance(v, RklVariant) or (v.steps is None and v.learning_rate is None):
                raise ValueError(f"AfdConfig: each of rkl_no_format_variants must set steps or learning_rate; "
                                 f"got {v!r}")
            if (v.steps is not None and v.steps < 1) or (v.learning_rate is not None
                                                         and not 0 < v.learning_rate < float("inf")):
                raise ValueError(f"AfdConfig: a variant's steps must be >= 1 and its learning_rate a finite number "
                                 f"> 0; got {v!r}")
            if v.seed is not None and v.seed not in seeds:
                raise ValueError(f"AfdConfig: a variant's seed must be one of rkl_no_format_seeds={seeds} (its "
                                 f"replicate is the variant's paired contrast); got {v!r}")
            if v.settings(self.rkl_steps, self.rkl_learning_rate) == (self.rkl_steps, self.rkl_learning_rate):
                raise ValueError(f"AfdConfig: variant {v!r} trains as rkl_nf or its replicate does (rkl_steps="
                                 f"{self.rkl_steps}, rkl_learning_rate={self.rkl_learning_rate}); it must change "
                                 f"one of them")
        if len({v.name() for v in variants}) != len(variants):
            raise ValueError(f"AfdConfig: rkl_no_format_variants must be distinct; got {variants}")
        if len({seed_index(v.name()) for v in variants}) != len(variants):     # a checksum clash: rare
            raise ValueError(f"AfdConfig: two of rkl_no_format_variants {[v.name() for v in variants]} would "
                             f"share sampling seeds; change one's setting slightly")


SAVES_PER_TRAINING = 8                  # checkpoints along each of the study's trainings (SFT, DPO, RLOO)


def save_interval(steps: int) -> int:
    """Steps between the checkpoints of a training of ``steps`` steps: :data:`SAVES_PER_TRAINING` saves, or
    one per step for a shorter training.

    >>> save_interval(40), save_interval(100), save_interval(3)
    (5, 12, 1)
    """
    return max(1, steps // SAVES_PER_TRAINING)


def replicate_name(training_seed: int) -> str:
    """The policy name of the format-blind reverse-KL route trained again with ``training_seed``."""
    return f"rkl_nf_s{training_seed}"


def compared_with(cfg: AfdConfig) -> dict[str, tuple[str, ...]]:
    """Each trained route of ``cfg`` (in training order), with the routes trained before it that its comparison
    holds beside the initial and SFT policies; its family of paired tests is then every pair of
    ``("init", "sft", *others, itself)`` on three measures.  The reverse-KL route is compared with none,
    the format-blind one with it, a replicate with both and the replicates before it, and a variant with
    ``rkl_nf``, its replicate (with a training seed) and the variants listed before it.

    >>> cfg = AfdConfig(rkl_pool_size=8, rkl_no_format=True, rkl_no_format_seeds=[1],
    ...                 rkl_no_format_variants=[{"learning_rate": 3e-5}, {"learning_rate": 3e-5, "seed": 1}])
    >>> compared_with(cfg)["rkl_nf_lr3e-05_s1"]
    ('rkl_nf', 'rkl_nf_s1', 'rkl_nf_lr3e-05')
    """
    out: dict[str, tuple[str, ...]] = {}
    if not cfg.rkl_pool_size:
        return out
    out["rkl"] = ()
    if not cfg.rkl_no_format:
        return out
    out["rkl_nf"] = ("rkl",)
    replicates = [replicate_name(k) for k in cfg.rkl_no_format_seeds]
    for i, name in enumerate(replicates):
        out[name] = ("rkl", "rkl_nf", *replicates[:i])
    variants = [v.name() for v in cfg.rkl_no_format_variants]
    for i, v in enumerate(cfg.rkl_no_format_variants):
        own = () if v.seed is None else (replicate_name(v.seed),)
        out[variants[i]] = ("rkl_nf", *own, *variants[:i])
    return out


def family_size(cfg: AfdConfig, policy: str) -> int:
    """How many paired tests Holm corrects over in ``policy``'s comparison (three measures per pair of its
    policies, :func:`compared_with`).

    >>> family_size(AfdConfig(rkl_pool_size=8, rkl_no_format=True), "rkl_nf")
    18
    """
    families = compared_with(cfg)
    if policy not in families:
        raise ValueError(f"family_size: {policy!r} is not a route this config trains; it trains "
                         f"{list(families)}")
    k = 3 + len(families[policy])
    return 3 * k * (k - 1) // 2


def seed_index(policy: str) -> int:
    """The index that sets ``policy``'s sampling seeds: SEED_INDEX's, 5 + k for a replicate rkl_nf_s<k>, and
    1000 plus a checksum of the name (below 10,000) for a variant (:class:`RklVariant`), so that neither the
    order of the variants nor the replicates' seeds move it (every seed stays below 2**31)."""
    if policy in SEED_INDEX:
        return SEED_INDEX[policy]
    m = re.fullmatch(r"rkl_nf_s(\d+)", policy)
    if m is not None:
        return 5 + int(m.group(1))      # fixed, not len(SEED_INDEX): saved replicate pools were drawn with it
    if re.fullmatch(r"rkl_nf(_t\d+)?(_lr[^_]+)?(_s\d+)?", policy) and policy != "rkl_nf":
        return 1000 + zlib.crc32(policy.encode()) % 10_000
    raise ValueError(f"seed_index: no sampling seed for policy {policy!r}; known: {list(SEED_INDEX)}, "
                     f"rkl_nf_s<k> and the variants' rkl_nf_t<steps>_lr<rate>_s<seed>")


def prompt_of(problem, cfg: AfdConfig) -> str:
    return f"{problem.prompt}\n{cfg.instruction}"


def demonstration(problem) -> str:
    """What the demonstrator wrote: the worked solution (maths) or the reference implementation (code)."""
    if problem.task == "humaneval":
        return "```python\n" + problem.items["reference_solution"].rstrip() + "\n```"
    return problem.items["worked_solution"]


def golden(problem, text: str, mode: str) -> bool:
    """The checker's verdict: math-verify on the extracted answer, or the hidden tests in the sandbox."""
    from llm_bridge.tasks.checkers import check_code, check_math
    if problem.task == "humaneval":
        return check_code(problem, text).correct
    return check_math(problem.answer, text, mode).correct


def load_problems(cfg: AfdConfig):
    """The problems of ``cfg.task``: ``n_generated`` GSM-Symbolic or chain-sum ones, or all 164 HumanEval ones."""
    from llm_bridge.tasks.problems import chain_sum, gsm_symbolic, humaneval
    if cfg.task == "humaneval":
        return humaneval()
    if cfg.task == "chain_sum":
        return chain_sum(cfg.n_generated, seed=cfg.seed, max_terms=cfg.chain_max_terms,
                         max_digits=cfg.chain_max_digits)
    return gsm_symbolic(cfg.n_generated, seed=cfg.seed)


# ------------------------------------------------------------------ files
def _read_jsonl(path: Path) -> list[dict]:
    """Records of a JSONL file and of its gzipped copy ``path.gz`` (as results are saved under docs/), the
    packed ones first, so that a run resumed in a saved folder appends after them; a line torn by an
    interruption is cut off the plain file (run_log)."""
    packed = path.with_name(path.name + ".gz")
    return [rec for log in (packed, path) if log.exists() for rec in read_records(log, "afd")]


def _joined(records: list[dict]) -> dict:
    """Records keyed by (policy, problem), where a later record of the same key (more samples drawn when the
    pool grew) extends the earlier one's lists in file order."""
    out = {}
    for r in records:
        key = (r["policy"], r["problem"])
        if key not in out:
            out[key] = dict(r)
            continue
        first = out[key]
        for name, value in r.items():
            if isinstance(value, list):
                first[name] = first[name] + value
    return out


_append = append_lines


def _progress(it, desc, total=None):
    from persuasion.progress import progress
    return progress(it, desc, total=total)


# ------------------------------------------------------------------ stages
def split_problems(problems, cfg: AfdConfig) -> tuple[list, list]:
    """(demonstration problems, held-out problems): held-out ones come from templates never demonstrated
    (a problem without a template, e.g. HumanEval's, is its own)."""
    def template(p):
        return str(p.meta.get("template", p.id))
    templates = sorted({template(p) for p in problems})
    rng = np.random.default_rng(cfg.seed)
    n_test = max(1, int(round(cfg.test_template_fraction * len(templates))))
    held = set(rng.permutation(templates)[:n_test].tolist())
    demos = [p for p in problems if template(p) not in held][:cfg.n_demonstrations]
    test = [p for p in problems if template(p) in held][:cfg.n_test]
    if len(demos) < cfg.n_demonstrations or len(test) < cfg.n_test:
        raise ValueError(f"AfdConfig: {len(problems)} generated problems give {len(demos)} demonstrations and "
                         f"{len(test)} held-out problems; raise n_generated")
    return demos, test


class WeightsNotKept:
    """Stands in for a trained policy of a saved run that kept the policy's record but not its weights (as
    ``docs/results`` keeps ``<name>_training_log.json``, a copy of ``<name>/done.json``).  Every stage that
    would use the policy reads its outputs back once they are complete, so a saved run can take a new
    training without its trained models; touching the stand-in means an output is incomplete, and says so."""

    def __init__(self, name: str, out: Path):
        self._name, self._out = name, out

    def __getattr__(self, attr):
        if attr.startswith("__"):                   # copy, pickle and the like probe for these
            raise AttributeError(attr)
        raise RuntimeError(f"{self._out}: policy {self._name!r} is needed (its {attr!r}) to finish an incomplete "
                           f"pool or score, but {self._out} holds only its record {self._name}_training_log.json, "
                           f"not its weights; put its weights in {self._out / self._name} or remove the record "
                           f"to train it again")


def trained_once(load_model, out: Path, name: str, train, settings: dict | None = None):
    """A policy trained from the initial one once and saved in ``out/name`` with its record ``done.json``:
    read back on a resume (refused if ``settings`` are given and differ from the saved ones), else
    ``train(lm)`` trains the freshly loaded initial policy in place and returns the record, which gets the
    training's ``seconds`` (and ``settings``).  The folder appears whole or not at all.  Where the folder is
    absent but ``out/<name>_training_log.json`` holds its record (a saved run), that record is returned with
    a :class:`WeightsNotKept` in place of the model."""
    folder = out / name
    done = folder / "done.json"
    record = done if done.exists() else out / f"{name}_training_log.json"
    if record.exists():
        info = json.loads(record.read_text())
        if settings is not None and info["settings"] != settings:
            raise ValueError(f"{folder if record == done else record} was trained with {info['settings']}, not "
                             f"{settings}; remove it to train again")
        return (load_model(str(folder)) if record == done else WeightsNotKept(name, out)), info
    lm = load_model(None)
    t = time.time()
    info = train(lm)
    info["seconds"] = time.time() - t
    if settings is not None:
        info["settings"] = settings
    tmp = out / f"{name}.tmp"
    lm.save(tmp)
    (tmp / "done.json").write_text(json.dumps(info))
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    tmp.rename(folder)
    return lm, info


def train_sft(load_model, demos, cfg: AfdConfig, out: Path):
    """The SFT policy, trained once and saved in ``out/sft`` (read back on a resume); an interrupted training
    resumes from its last checkpoint (``out/sft_checkpoint.pt``, eight along the way, removed at the end)."""
    from llm_bridge.models.training import SFTConfig, sft

    def train(lm):
        steps = cfg.sft_epochs * -(-len(demos) // cfg.sft_batch_size)
        losses = sft(lm, [(prompt_of(p, cfg), demonstration(p)) for p in demos],
                     SFTConfig(epochs=cfg.sft_epochs, batch_size=cfg.sft_batch_size,
                               learning_rate=cfg.sft_learning_rate, seed=cfg.seed,
                               max_length=cfg.sft_max_length), progress=True,
                     checkpoint=out / "sft_checkpoint.pt", checkpoint_every=save_interval(steps))
        return {"losses": losses, "n": len(demos)}
    return trained_once(load_model, out, "sft", train)


def _sampling(cfg: AfdConfig, seed: int):
    from llm_bridge.models.language_model import SamplingConfig
    return SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, seed=seed)


def classifier_samples(models: dict, demos, cfg: AfdConfig, out: Path) -> list[dict]:
    """Completions of the classifier prompts from both policies (appended per prompt chunk)."""
    path = out / "classifier_samples.jsonl"
    recs = _read_jsonl(path)
    done = {(r["policy"], r["problem"]) for r in recs}
    probs = demos[:cfg.n_classifier_problems]
    chunk = max(1, cfg.problems_per_call * cfg.pool_size // cfg.classifier_samples)
    for pi, policy in enumerate(POLICIES):
        todo = [p for p in probs if (policy, p.id) not in done]
        for c in _progress(range(0, len(todo), chunk), f"classifier samples ({policy})"):
            part = todo[c:c + chunk]
            prompts = [prompt_of(p, cfg) for p in part for _ in range(cfg.classifier_samples)]
            seed = cfg.seed + 7919 * (pi + 1) + probs.index(part[0]) * 101
            gens = models[policy].generate_scored(prompts, _sampling(cfg, seed))
            new = [{"policy": policy, "problem": p.id, "k": k, "text": gens[j * cfg.classifier_samples + k].text}
                   for j, p in enumerate(part) for k in range(cfg.classifier_samples)]
            _append(path, new)
            recs.extend(new)
    return recs


def sample_pools(models: dict, test, cfg: AfdConfig, out: Path, policies=POLICIES, size: int | None = None,
                 name: str = "pool.jsonl") -> dict:
    """``size`` (default ``pool_size``) completions of each held-out problem from each of ``policies``, with
    their own log-probability and the checker's verdict; appended to ``out/name`` per chunk of problems
    (about ``problems_per_call * pool_size`` completions a call).

    A pool that holds fewer than ``size`` (``pool_size`` raised on a finished run) gets only the missing
    completions, drawn with seeds of their own and appended as further records of the same problem; the
    samples a pool already holds are kept as they are."""
    path = out / name
    size = size or cfg.pool_size
    pools = _joined(_read_jsonl(path))
    for policy in policies:
        def have(p):
            return len(pools[(policy, p.id)]["texts"]) if (policy, p.id) in pools else 0
        for start in sorted({have(p) for p in test if have(p) < size}):
            todo = [p for p in test if have(p) == start]
            need = size - start
            step = max(1, cfg.problems_per_call * cfg.pool_size // need)
            desc = f"pools ({policy})" if start == 0 else f"pools ({policy}, samples {start + 1}-{size})"
            for c in _progress(range(0, len(todo), step), desc, total=-(-len(todo) // step)):
                part = todo[c:c + step]
                prompts = [prompt_of(p, cfg) for p in part for _ in range(need)]
                seed = cfg.seed + 104729 * (seed_index(policy) + 1) + test.index(part[0]) * 1009
                seed += 7368787 * start       # a grown pool's new samples: seeds no first draw uses
                gens = models[policy].generate_scored(prompts, _sampling(cfg, seed))
                new = []
                for j, p in enumerate(part):
                    g = gens[j * need:(j + 1) * need]
                    new.append({"policy": policy, "problem": p.id, "gold": p.answer, "texts": [x.text for x in g],
                                f"logp_{policy}": [x.logprob for x in g], "n_tokens": [x.n_tokens for x in g],
                                "correct": [golden(p, x.text, cfg.checker_mode) for x in g]})
                _append(path, new)
                pools = _joined([*pools.values(), *new])
    return pools


def cross_score(models: dict, test, pools: dict, cfg: AfdConfig, out: Path) -> dict:
    """Each pooled completion's log-probability under the other policy (appended per problem; a grown pool's
    new completions are scored in a further record of the same problem)."""
    path = out / "cross_scores.jsonl"
    scores = {k: r["logp"] for k, r in _joined(_read_jsonl(path)).items()}
    for policy in POLICIES:
        other = "init" if policy == "sft" else "sft"
        todo = [p for p in test if len(scores.get((policy, p.id), [])) < len(pools[(policy, p.id)]["texts"])]
        for p in _progress(todo, f"scores of {policy} samples under {other}"):
            done = scores.get((policy, p.id), [])
            texts = pools[(policy, p.id)]["texts"][len(done):]
            lp = models[other].log_likelihood([prompt_of(p, cfg)] * len(texts), texts, reduce="sum")
            _append(path, [{"policy": policy, "problem": p.id, "logp": lp}])
            scores[(policy, p.id)] = done + list(lp)
    return scores


# ------------------------------------------------------------------ analysis
def fit_classifier(tokenizer, recs: list[dict], cfg: AfdConfig, positive: str = "sft"):
    """The classifier of ``recs`` (``{"policy", "problem", "text"}``; label 1 where the policy is
    ``positive``), and its accuracy on prompts it did not see."""
    ids = [tokenizer(r["text"], add_special_tokens=False)["input_ids"] for r in recs]
    labels = [1 if r["policy"] == positive else 0 for r in recs]
    groups = [r["problem"] for r in recs]
    held = held_out_accuracy(ids, labels, groups, seed=cfg.seed, c=cfg.classifier_c)
    clf = InitSFTClassifier(c=cfg.classifier_c, seed=cfg.seed).fit(ids, labels)
    return clf, held


def best_of_n_table(rewards: dict, correct: dict, test_ids: list[str], cfg: AfdConfig) -> dict:
    """For each policy, selector and N: exact accuracy, drawn accuracy with its Wilson interval, the kept
    sample's proxy rewards, and the paired outcomes (for the tests)."""
    rng = np.random.default_rng(cfg.seed + 1)
    orders = {(pol, pid): bon.draw_order(cfg.pool_size, rng) for pol in POLICIES for pid in test_ids}
    table = {}
    for pol in POLICIES:
        for sel in SELECTORS:
            for n in cfg.ns:
                exact, drawn, proxy = [], [], {"classifier": [], "log_ratio": []}
                for pid in test_ids:
                    g = np.asarray(correct[(pol, pid)], dtype=float)
                    # the oracle keeps a correct sample when one is drawn (ties broken uniformly)
                    r = {"random": np.zeros_like(g), "oracle": g}.get(sel)
                    r = rewards[sel][(pol, pid)] if r is None else r
                    w = bon.pick_probabilities(r, n)
                    exact.append(float(w @ g))
                    drawn.append(bool(g[bon.draw_pick(r, orders[(pol, pid)], n)]))
                    for name in proxy:
                        proxy[name].append(float(w @ rewards[name][(pol, pid)]))
                lo, hi = wilson(sum(drawn), len(drawn))
                table[(pol, sel, n)] = {"exact": float(np.mean(exact)), "drawn": float(np.mean(drawn)),
                                        "wilson": [float(lo), float(hi)], "n_problems": len(drawn),
                                        "proxy_classifier": float(np.mean(proxy["classifier"])),
                                        "proxy_log_ratio": float(np.mean(proxy["log_ratio"])),
                                        "outcomes": drawn, "exact_per_problem": exact}
    return table


def paired_tests(table: dict, cfg: AfdConfig, against: str = "random", selectors=LEARNED) -> list[dict]:
    """Each of ``selectors`` against ``against`` at the same N > 1 and policy, one family, Holm-corrected.

    Draw-free (primary): the paired sign-flip test on the per-problem exact accuracies over all N-subsets
    (``diff_exact``, ``p_sign_flip``, ``p_sign_flip_holm``).  On one nested draw per problem (the same
    draws for every selector): the exact McNemar test (``b``, ``c``, ``diff``, ``p``, ``p_holm``)."""
    tests = []
    for pol in POLICIES:
        for sel in selectors:
            for n in cfg.ns:
                if n == 1 or (pol, sel, n) not in table:
                    continue            # one sample: every selector keeps it
                a, b = table[(pol, sel, n)], table[(pol, against, n)]
                t = mcnemar_exact(a["outcomes"], b["outcomes"])
                f = paired_sign_flip(a["exact_per_problem"], b["exact_per_problem"], seed=cfg.seed)
                # the test's own "n" counts problems; N is the number of samples drawn
                tests.append({**t, "n_problems": t["n"], "policy": pol, "selector": sel, "against": against,
                              "n": n, "diff_exact": f["diff"], "p_sign_flip": f["p"],
                              "n_problems_differing": f["n_nonzero"]})
    for key in ("p", "p_sign_flip"):
        for t, p in zip(tests, holm([t[key] for t in tests])):
            t[f"{key}_holm"] = p
    return tests


def describe_pools(pools: dict, rewards: dict, max_new_tokens: int) -> dict:
    """What the pools are made of, per policy: the share right, the share cut at the token limit (the whole
    budget used without an end token), the share answering in the format, how well the format alone tells
    the source policy, and each reward's Spearman correlation with length (None where either is constant).
    ``rewards`` maps a reward's name to ``{(policy, problem): scores}`` and holds ``"format"``."""
    from scipy.stats import spearmanr
    keys = {pol: sorted(k for k in pools if k[0] == pol) for pol in POLICIES}

    def flat(get, pol):
        return np.concatenate([np.asarray(get(k), dtype=float) for k in keys[pol]])

    def spearman(name, pol):
        x, y = flat(rewards[name].get, pol), flat(lambda k: pools[k]["n_tokens"], pol)
        return None if np.ptp(x) == 0 or np.ptp(y) == 0 else float(spearmanr(x, y).statistic)
    fmt = {pol: flat(rewards["format"].get, pol) for pol in POLICIES}
    return {
        "accuracy_per_sample": {pol: float(flat(lambda k: pools[k]["correct"], pol).mean()) for pol in POLICIES},
        "truncated": {pol: float((flat(lambda k: pools[k]["n_tokens"], pol) >= max_new_tokens).mean())
                      for pol in POLICIES},
        "format_rate": {pol: float(fmt[pol].mean()) for pol in POLICIES},
        # "has the format" read as "came from the SFT policy", over both pools
        "format_tells_source": float((fmt["sft"].sum() + (1 - fmt["init"]).sum()) / (fmt["sft"].size + fmt["init"].size)),
        "length_correlation": {name: {pol: spearman(name, pol) for pol in POLICIES} for name in rewards},
    }


def describe_saved(folder) -> dict:
    """:func:`describe_pools` of a finished run's folder (its files plain or gzipped, as saved under docs/),
    with the two rewards that need no training: the log-ratio and the format-only reward."""
    folder = Path(folder)

    def records(name):
        found = _read_jsonl(folder / name)
        if not found:
            raise FileNotFoundError(f"describe_saved: neither {name} nor {name}.gz in {folder}")
        return _joined(found)
    cfg = json.loads((folder / "split.json").read_text())["config"]
    pools = records("pool.jsonl")
    cross = {k: r["logp"] for k, r in records("cross_scores.jsonl").items()}
    rewards = {"log_ratio": {}, "format": {}}
    for (pol, pid), rec in pools.items():
        own, other = np.asarray(rec[f"logp_{pol}"]), np.asarray(cross[(pol, pid)])
        rewards["log_ratio"][(pol, pid)] = log_ratio(*((own, other) if pol == "sft" else (other, own)))
        rewards["format"][(pol, pid)] = format_reward(rec["texts"], cfg.get("task", "gsm_symbolic"))
    return describe_pools(pools, rewards, cfg["max_new_tokens"])


def trend_tests(table: dict, cfg: AfdConfig, selectors=LEARNED) -> list[dict]:
    """Does a selector's golden accuracy change from one N to the next?  For each policy, selector and pair of
    consecutive N: the paired sign-flip test of the per-problem exact accuracies (``diff`` = later minus
    earlier), with the change of the kept sample's mean proxy rewards beside it; Holm over the family.  A
    significant fall while the proxy rises is what over-optimisation would look like."""
    tests = []
    for pol in POLICIES:
        for sel in selectors:
            for lo, hi in zip(cfg.ns, cfg.ns[1:]):
                a, b = table[(pol, sel, lo)], table[(pol, sel, hi)]
                f = paired_sign_flip(b["exact_per_problem"], a["exact_per_problem"], seed=cfg.seed)
                tests.append({"policy": pol, "selector": sel, "from_n": lo, "to_n": hi, "diff": f["diff"],
                              "p": f["p"], "n_problems_differing": f["n_nonzero"],
                              "proxy_classifier_change": b["proxy_classifier"] - a["proxy_classifier"],
                              "proxy_log_ratio_change": b["proxy_log_ratio"] - a["proxy_log_ratio"]})
    for t, p in zip(tests, holm([t["p"] for t in tests])):
        t["p_holm"] = p
    return tests


def run(load_model, cfg: AfdConfig, problems) -> dict:
    """Every stage; ``load_model(path_or_None)`` returns a LanguageModel (None: the initial policy)."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    demos, test = split_problems(problems, cfg)
    split = {"demonstrations": [p.id for p in demos], "held_out": [p.id for p in test], "config": asdict(cfg)}
    saved = out / "split.json"
    if saved.exists():                # a resume must be the same run: same config (wherever it lives), same split
        try:
            before = json.loads(saved.read_text())
        except json.JSONDecodeError:
            raise ValueError(f"{saved} is corrupt; remove {out} to start again") from None
        defaults = asdict(AfdConfig())

        def same(a):       # a key the saved run predates counts as its default; a baseline may be added later,
            return {**{k: v for k, v in a.items() if k != "grown_from"},   # the pool may grow (GROWABLE_KEYS)
                    "config": {k: a.get("config", {}).get(k, defaults[k]) for k in defaults
                               if k != "out" and k not in BASELINE_KEYS + GROWABLE_KEYS}}
        if same(before) != same(split):
            raise ValueError(f"{saved} holds another run (its config or problems differ); "
                             f"use another out folder or remove {out}")
        had = before["config"].get("pool_size", defaults["pool_size"])
        if cfg.pool_size < had:
            raise ValueError(f"{out} holds pools of {had} samples; pool_size may grow on a finished run, not "
                             f"shrink (got {cfg.pool_size}); use another out folder")
        if cfg.pool_size > had:        # the sizes the pools were drawn in, so the growth is on record
            split["grown_from"] = before.get("grown_from", []) + [had]
            write_atomic(saved, json.dumps(split).encode())
    else:
        write_atomic(saved, json.dumps(split).encode())
    sft_lm, sft_info = train_sft(load_model, demos, cfg, out)
    models = {"init": load_model(None), "sft": sft_lm}
    timings["sft_seconds"] = sft_info["seconds"]
    t = time.time()
    recs = classifier_samples(models, demos, cfg, out)
    timings["classifier_samples_seconds_this_call"] = time.time() - t
    t = time.time()
    pools = sample_pools(models, test, cfg, out)
    timings["pools_seconds_this_call"] = time.time() - t
    t = time.time()
    cross = cross_score(models, test, pools, cfg, out)
    timings["cross_scores_seconds_this_call"] = time.time() - t
    tok = models["init"].tokenizer
    clf, held = fit_classifier(tok, recs, cfg)
    # the same classifier without the format lines, and demonstrations (positives) against initial samples
    unformatted = [{**r, "text": without_format(r["text"], cfg.task)} for r in recs]
    clf_nf, held_nf = fit_classifier(tok, unformatted, cfg)
    demo_recs = [{"policy": "demonstration", "problem": p.id, "text": demonstration(p)}
                 for p in demos[:cfg.n_classifier_problems]]       # the prompts the initial samples answer
    demo_recs += [r for r in recs if r["policy"] == "init"]
    demo_clf, held_demo = fit_classifier(tok, demo_recs, cfg, positive="demonstration")
    test_ids = [p.id for p in test]
    rewards = {name: {} for name in ("classifier", "classifier_no_format", "demo_classifier", "log_ratio",
                                     "format")}
    correct = {}

    def ids(texts):
        return [tok(x, add_special_tokens=False)["input_ids"] for x in texts]
    for pol in POLICIES:
        for pid in test_ids:
            rec = pools[(pol, pid)]
            own = np.asarray(rec[f"logp_{pol}"])
            other = np.asarray(cross[(pol, pid)])
            lp_sft, lp_init = (own, other) if pol == "sft" else (other, own)
            key = (pol, pid)
            rewards["log_ratio"][key] = log_ratio(lp_sft, lp_init)
            rewards["classifier"][key] = clf.score(ids(rec["texts"]))
            rewards["classifier_no_format"][key] = clf_nf.score(
                ids([without_format(x, cfg.task) for x in rec["texts"]]))
            rewards["demo_classifier"][key] = demo_clf.score(ids(rec["texts"]))
            rewards["format"][key] = format_reward(rec["texts"], cfg.task)
            correct[key] = rec["correct"]
    lr_all = [rewards["log_ratio"][(pol, pid)] for pol in POLICIES for pid in test_ids]
    clf_all = [rewards["classifier"][(pol, pid)] for pol in POLICIES for pid in test_ids]
    from scipy.stats import spearmanr
    agreement = {"spearman_pooled": float(spearmanr(np.concatenate(clf_all), np.concatenate(lr_all)).statistic),
                 "same_sign": float(np.mean(np.sign(np.concatenate(clf_all)) == np.sign(np.concatenate(lr_all))))}
    # the log-ratio as a classifier of the source policy, on the pools (no training involved)
    lr_acc = float(np.mean([np.mean((rewards["log_ratio"][(pol, pid)] > 0) == (pol == "sft"))
                            for pol in POLICIES for pid in test_ids]))
    clf_pool_acc = float(np.mean([np.mean((rewards["classifier"][(pol, pid)] > 0) == (pol == "sft"))
                                  for pol in POLICIES for pid in test_ids]))
    table = best_of_n_table(rewards, correct, test_ids, cfg)
    tests = paired_tests(table, cfg)
    tests_vs_format = paired_tests(table, cfg, against="format")
    power_check = paired_tests(table, cfg, selectors=("oracle",))
    trends = trend_tests(table, cfg)
    other_checker = None
    if cfg.task != "humaneval":   # the same selections scored with the other answer extraction, as a check
        from llm_bridge.tasks.checkers import check_math
        mode = "strict" if cfg.checker_mode == "flexible" else "flexible"
        gold = {p.id: p.answer for p in test}
        other = {(pol, pid): [check_math(gold[pid], x, mode).correct for x in pools[(pol, pid)]["texts"]]
                 for pol in POLICIES for pid in test_ids}
        other_checker = {"mode": mode, "best_of_n": [
            {"policy": k[0], "selector": k[1], "n": k[2], "exact": v["exact"], "drawn": v["drawn"],
             "wilson": v["wilson"]} for k, v in best_of_n_table(rewards, other, test_ids, cfg).items()]}
    report = {
        "config": asdict(cfg), "timings": timings,
        "sft": {"n": sft_info["n"], "first_loss": sft_info["losses"][0], "last_loss": sft_info["losses"][-1],
                "seconds": sft_info["seconds"]},
        "classifier": {"held_out": {k: v for k, v in held.items() if k not in ("test_index", "test_scores")},
                       "source_accuracy_on_pools": clf_pool_acc, "n_train_samples": len(recs)},
        "classifier_no_format": {"held_out": {k: v for k, v in held_nf.items()
                                              if k not in ("test_index", "test_scores")}},
        "demo_classifier": {"held_out": {k: v for k, v in held_demo.items()
                                         if k not in ("test_index", "test_scores")},
                            "n_train_samples": len(demo_recs)},
        "log_ratio": {"source_accuracy_on_pools": lr_acc},
        "agreement": agreement,
        "best_of_n": [{"policy": k[0], "selector": k[1], "n": k[2], "kl_estimate": bon.kl_best_of_n(k[2]),
                       **{a: b for a, b in v.items() if a not in ("outcomes", "exact_per_problem")}}
                      for k, v in table.items()],
        "tests": tests,
        "tests_vs_format": tests_vs_format,
        "power_check": power_check,
        "trend_tests": trends,
        "other_checker": other_checker,
        **describe_pools(pools, rewards, cfg.max_new_tokens),
        "mean_tokens": {pol: float(np.mean([np.mean(pools[(pol, pid)]["n_tokens"]) for pid in test_ids]))
                        for pol in POLICIES},
    }
    if cfg.dpo_pool_size:
        report["dpo"] = dpo_baseline(load_model, models, demos, recs, test, pools, cfg, out)
    if cfg.rkl_pool_size:
        report["reverse_kl"] = reverse_kl_baseline(load_model, demo_clf, tok, demos, test, pools, cfg, out)
    if cfg.rkl_pool_size and cfg.rkl_no_format:
        # the demonstrations-vs-initial classifier again, fitted and applied with the format lines removed
        demo_nf = [{**r, "text": without_format(r["text"], cfg.task)} for r in demo_recs]
        demo_clf_nf, held_demo_nf = fit_classifier(tok, demo_nf, cfg, positive="demonstration")
        others = compared_with(cfg)
        report["reverse_kl_no_format"] = reverse_kl_baseline(
            load_model, demo_clf_nf, tok, demos, test, pools, cfg, out, policy="rkl_nf", task=cfg.task,
            others=others["rkl_nf"])
        report["reverse_kl_no_format"]["classifier_held_out"] = {
            k: v for k, v in held_demo_nf.items() if k not in ("test_index", "test_scores")}
        # the same route trained again from the initial policy with other training seeds, on the same reward
        # (each also compared with the replicates listed before it)
        replicates = {}
        for k in cfg.rkl_no_format_seeds:
            replicates[str(k)] = reverse_kl_baseline(load_model, demo_clf_nf, tok, demos, test, pools, cfg, out,
                                                     policy=replicate_name(k), task=cfg.task, training_seed=k,
                                                     others=others[replicate_name(k)])
        report["reverse_kl_no_format_replicates"] = replicates
        if replicates:
            report["reverse_kl_no_format_seed_spread"] = seed_spread(
                replicates[str(cfg.rkl_no_format_seeds[-1])],
                ["rkl_nf", *(replicate_name(k) for k in cfg.rkl_no_format_seeds)])
        # the route trained further (more steps or a larger learning rate), with the first training's seed, so
        # that rkl_nf is its paired contrast, or a replicate's, which is then its paired contrast too; the
        # family is init, SFT, rkl_nf, that replicate, the variants listed before it and it (the replicates'
        # spread says how far the seed alone moves the measures)
        variants = {}
        for v in cfg.rkl_no_format_variants:
            steps, learning_rate = v.settings(cfg.rkl_steps, cfg.rkl_learning_rate)
            its_cfg = replace(cfg, rkl_steps=steps, rkl_learning_rate=learning_rate,
                              rkl_no_format_variants=[])      # the settings this one training reads
            variants[v.name()] = {"changes": v.changes(), **reverse_kl_baseline(
                load_model, demo_clf_nf, tok, demos, test, pools, its_cfg, out, policy=v.name(), task=cfg.task,
                training_seed=v.seed, others=others[v.name()])}
        report["reverse_kl_no_format_variants"] = variants
    write_atomic(out / "report.json", json.dumps(report, indent=1).encode())
    return report


def seed_spread(section: dict, policies: list[str]) -> dict:
    """How far trainings of one route with different seeds spread: each policy's pass@1, pass@k at the
    section's largest k, and distinct answers (from a comparison ``section`` holding them all, on the same
    problems and cut pools), with their mean, standard deviation (n - 1) and range across the trainings.
    Descriptive: with a handful of seeds the SD is itself loose.

    >>> pols = {p: {"pass_at": {"1": a, "8": b}, "distinct_answers": d}
    ...         for p, a, b, d in (("x", 0.2, 0.5, 5.5), ("y", 0.3, 0.5, 5.0))}
    >>> spread = seed_spread({"policies": pols}, ["x", "y"])
    >>> spread["pass@1"]["mean"], round(spread["pass@1"]["sd"], 4), spread["distinct_answers"]["range"]
    (0.25, 0.0707, [5.0, 5.5])
    """
    pols = section["policies"]
    k = max(pols[policies[0]]["pass_at"], key=int)
    measures = {"pass@1": lambda v: v["pass_at"]["1"], f"pass@{k}": lambda v: v["pass_at"][k],
                "distinct_answers": lambda v: v["distinct_answers"]}
    out = {}
    for name, get in measures.items():
        values = np.array([get(pols[p]) for p in policies], float)
        out[name] = {"per_training": dict(zip(policies, values.tolist())), "mean": float(values.mean()),
                     "sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                     "range": [float(values.min()), float(values.max())]}
    return out


def pool_make_up(texts: list[str], n_tokens, max_new_tokens: int, task: str) -> dict:
    """Of a pool's samples (``texts`` with their lengths ``n_tokens``): the share cut at the token limit
    (``max_new_tokens`` or more), the share in the asked format (:func:`format_reward` for ``task``) and the
    mean length in tokens."""
    n_tok = np.asarray(n_tokens, dtype=float)
    return {"truncated": float(np.mean(n_tok >= max_new_tokens)),
            "format_rate": float(format_reward(texts, task).mean()), "mean_tokens": float(n_tok.mean())}


def _pool_summary(pools: dict, policy: str, test_ids: list[str], cfg: AfdConfig) -> dict:
    return pool_make_up([x for pid in test_ids for x in pools[(policy, pid)]["texts"]],
                        np.concatenate([pools[(policy, pid)]["n_tokens"] for pid in test_ids]),
                        cfg.max_new_tokens, cfg.task)


def _cut(pools: dict, size: int) -> dict:
    return {k: {**v, "texts": v["texts"][:size], "correct": v["correct"][:size], "n_tokens": v["n_tokens"][:size]}
            for k, v in pools.items()}


def _against_init_and_sft(policy: str, lm, test, pools: dict, cfg: AfdConfig, out: Path, size: int,
                          others: tuple = ()):
    """A trained baseline's pool of ``size`` per held-out problem (``out/<policy>_pool.jsonl``, resumable),
    and the initial, SFT and baseline policies (and ``others``, trained baselines whose pools are in
    ``pools``) compared on pass@1, pass@k and answer diversity, every pool cut to ``size`` so each policy is
    judged on as many samples; the comparison (with the pool's make-up under ``<policy>_pool``) and the cut
    pools."""
    from .afd_baselines import compare_pools
    own = sample_pools({policy: lm}, test, cfg, out, policies=(policy,), size=size, name=f"{policy}_pool.jsonl")
    test_ids = [p.id for p in test]
    cut = {**_cut(pools, size), **_cut(own, size)}
    result = compare_pools(cut, ("init", "sft", *others, policy), test_ids, [k for k in cfg.ns if k <= size],
                           cfg.checker_mode, seed=cfg.seed)
    result[f"{policy}_pool"] = _pool_summary(own, policy, test_ids, cfg)
    return result, cut


def reverse_kl_baseline(load_model, demo_clf, tok, demos, test, pools: dict, cfg: AfdConfig, out: Path,
                        policy: str = "rkl", task: str | None = None, training_seed: int | None = None,
                        others: tuple[str, ...] = ()) -> dict:
    """The reverse-KL policy (:mod:`.afd_reverse_kl`: RLOO on the demonstrations-vs-initial classifier's logit,
    KL weight 1 to the initial policy, on the demonstration prompts) against the initial and SFT policies
    (:func:`_against_init_and_sft`, pools of ``rkl_pool_size``), with each pool's mean reward (the
    classifier's logit).  With ``task``, the classifier reads each completion with its format lines removed
    (:func:`~.demonstration_rewards.without_format`); the policy, saved as ``policy`` and trained with
    ``training_seed`` (default: the run's seed), is also compared with ``others``, routes trained before it
    whose pools are read back from ``out``."""
    from .afd_baselines import mean_interval
    from .afd_reverse_kl import classifier_reward, reverse_kl_policy
    t = time.time()
    for other in others:
        pools = {**pools, **_joined(_read_jsonl(out / f"{other}_pool.jsonl"))}
    lm, info = reverse_kl_policy(load_model, demo_clf, tok, [prompt_of(p, cfg) for p in demos], cfg, out,
                                 name=policy, task=task, training_seed=training_seed)
    result, cut = _against_init_and_sft(policy, lm, test, pools, cfg, out, cfg.rkl_pool_size, others)
    # how far the route climbed the reward it maximised, with the SFT policy's samples as a yardstick
    reward = classifier_reward(demo_clf, tok, task)
    per_problem = {pol: np.array([np.mean(reward(prompts=None, completions=cut[(pol, p.id)]["texts"]))
                                  for p in test])
                   for pol in ("init", "sft", *others, policy)}
    result["reward_on_pools"] = {pol: {"mean": float(v.mean()), "interval": mean_interval(v)}
                                 for pol, v in per_problem.items()}
    log = info["log"]
    ends = min(5, len(log))                      # one step's mean of 32 samples is noisy: average a few
    result["training"] = {"n_prompts": info["n_prompts"], "seconds": info["seconds"], **info["settings"],
                          "reward_first_steps": float(np.mean([h["reward"] for h in log[:ends]])),
                          "reward_last_steps": float(np.mean([h["reward"] for h in log[-ends:]])),
                          "kl_per_token_last_steps": float(np.mean([h.get("kl", np.nan) for h in log[-ends:]])),
                          "steps_logged": len(log)}
    result["seconds_this_call"] = time.time() - t
    return result


def dpo_baseline(load_model, models: dict, demos, recs, test, pools: dict, cfg: AfdConfig, out: Path) -> dict:
    """The DPO policy (:mod:`.afd_baselines`) against the initial and SFT policies
    (:func:`_against_init_and_sft`, pools of ``dpo_pool_size``)."""
    from .afd_baselines import dpo_policy
    t = time.time()
    lm, info = dpo_policy(load_model, demos, recs, cfg, out)
    result, _ = _against_init_and_sft("dpo", lm, test, pools, cfg, out, cfg.dpo_pool_size)
    result["training"] = {"n_pairs": info["n_pairs"], "first_loss": info["losses"][0],
                          "last_loss": info["losses"][-1], "seconds": info["seconds"], **info["settings"]}
    result["seconds_this_call"] = time.time() - t
    return result
