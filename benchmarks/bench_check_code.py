"""check_code on all 164 HumanEval problems: canonical solutions must pass, a wrong body must fail.

    python -m benchmarks.bench_check_code [--mutants] [--baseline-checkout DIR] [--out FILE]

Prints the counts and the median seconds per call (the sandbox, the candidate
server and the trusted tests runner), beside baselines run in the same
process, alternating problem by problem:

* the same programs run with the opt-out (no isolation, trusted code only);
* with ``--baseline-checkout DIR``, the ``check_code`` of another checkout of
  this repository (for example ``git worktree add DIR <commit>``), imported
  under another name: the previous design side by side, and the ratio.

``--mutants`` also re-checks all 966 mutants of ``proposals.code_mutants``
against the verdicts recorded from the harness that ran the tests in the
candidate's process (tests/data/humaneval_mutant_verdicts.json).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import sys
import time

from . import write_json


def _load_checkout(path: str):
    """The checkers of another checkout (``llm_bridge/tasks/checkers.py``, or ``llm_bridge/checkers.py`` before
    the bridge was split into sub-packages), imported under the package ``baseline_llm_bridge``."""
    pkg = pathlib.Path(path) / "llm_bridge"
    where = next((m for m in ("tasks.checkers", "checkers") if (pkg / (m.replace(".", "/") + ".py")).is_file()), None)
    if where is None:
        raise SystemExit(f"--baseline-checkout: no llm_bridge/tasks/checkers.py (or llm_bridge/checkers.py) "
                         f"under {path!r}")
    spec = importlib.util.spec_from_file_location("baseline_llm_bridge", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_llm_bridge"] = mod
    spec.loader.exec_module(mod)
    return importlib.import_module(f"baseline_llm_bridge.{where}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", action="store_true", help="re-check all mutants against the recorded verdicts")
    ap.add_argument("--baseline-checkout", help="another checkout whose check_code runs side by side")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    from persuasion.progress import progress

    from llm_bridge.tasks.checkers import check_code, check_program
    from llm_bridge.tasks.sandbox import memory_isolation, run_python
    from llm_bridge.tasks.problems import humaneval
    baseline = _load_checkout(args.baseline_checkout) if args.baseline_checkout else None
    problems = humaneval()
    check_code(problems[0], problems[0].meta["canonical_solution"])        # the root manifest is cached once
    passed = failed_wrong = base_passed = 0
    times, base_times, plain_times = [], [], []
    for p in progress(problems, "check_code", mininterval=5):
        t = time.perf_counter()
        passed += check_code(p, p.meta["canonical_solution"]).correct
        times.append(time.perf_counter() - t)
        failed_wrong += not check_code(p, "    return None\n").correct
        if baseline is not None:
            t = time.perf_counter()
            base_passed += baseline.check_code(p, p.meta["canonical_solution"]).correct
            base_times.append(time.perf_counter() - t)
        src = p.prompt + p.meta["canonical_solution"] + "\n\n" + p.meta["test"] + f"\ncheck({p.meta['entry_point']})\n"
        t = time.perf_counter()
        run_python(src, unsafe_no_isolation_trusted_code_only=True)
        plain_times.append(time.perf_counter() - t)
    med = statistics.median(times)
    out = {"problems": len(problems), "canonical_passed": passed, "wrong_failed": failed_wrong,
           "median_s": med, "max_s": max(times), "memory_isolation": memory_isolation(),
           "no_isolation_median_s": statistics.median(plain_times)}
    print(f"canonical solutions passed: {passed}/{len(problems)}")
    print(f"wrong bodies ('return None') failed: {failed_wrong}/{len(problems)}")
    print(f"median seconds per check_code call: {med:.3f}; max {max(times):.3f} (memory bounded by "
          f"{out['memory_isolation']})")
    print(f"baseline, same programs without isolation: median {out['no_isolation_median_s']:.3f} s; "
          f"ratio {med / out['no_isolation_median_s']:.2f}x")
    if baseline is not None:
        out.update(baseline_checkout=os.path.abspath(args.baseline_checkout), baseline_passed=base_passed,
                   baseline_median_s=statistics.median(base_times),
                   ratio_to_baseline=med / statistics.median(base_times))
        print(f"baseline checkout {args.baseline_checkout}: canonical passed {base_passed}/{len(problems)}, "
              f"median {out['baseline_median_s']:.3f} s; this checkout / baseline = {out['ratio_to_baseline']:.2f}x")
    if args.mutants:
        from llm_bridge.games.proposals import code_mutants
        old = json.loads((pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
                          / "humaneval_mutant_verdicts.json").read_text())
        same = total = 0
        differ = []
        for p in progress(problems, "mutants", mininterval=5):
            for i, m in enumerate(code_mutants(p, 0)):
                ok = check_program(p, m).correct
                total += 1
                same += ok == old[p.id]["mutants"][i]
                if ok != old[p.id]["mutants"][i]:
                    differ.append([p.id, i, ok])
        out.update(mutants=total, mutants_same_verdict=same, mutants_differ=differ)
        print(f"mutants with the recorded verdict: {same}/{total}")
    write_json(out, args.out)
    return out


if __name__ == "__main__":
    main()
