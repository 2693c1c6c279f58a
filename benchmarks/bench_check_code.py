"""check_code on all 164 HumanEval problems: canonical solutions must pass, a wrong body must fail.

    python -m benchmarks.bench_check_code

Prints the counts and the median seconds per call (the sandbox plus the harness), and the same
programs run with the opt-out (no isolation, trusted code only) side by side as the baseline.
"""
from __future__ import annotations

import statistics
import time


def main() -> None:
    from llm_bridge.checkers import check_code
    from llm_bridge.tasks import humaneval
    problems = humaneval()
    passed, failed_wrong, times = 0, 0, []
    for p in problems:
        t = time.perf_counter()
        passed += check_code(p, p.meta["canonical_solution"]).correct
        times.append(time.perf_counter() - t)
        failed_wrong += not check_code(p, "    return None\n").correct
    print(f"canonical solutions passed: {passed}/{len(problems)}")
    print(f"wrong bodies ('return None') failed: {failed_wrong}/{len(problems)}")
    print(f"median seconds per check_code call (sandboxed): {statistics.median(times):.3f}; "
          f"max {max(times):.3f}")
    from llm_bridge.sandbox import run_python
    base = []
    for p in problems[:40]:
        src = p.prompt + p.meta["canonical_solution"] + "\n\n" + p.meta["test"] + f"\ncheck({p.meta['entry_point']})\n"
        t = time.perf_counter()
        run_python(src, unsafe_no_isolation_trusted_code_only=True)
        base.append(time.perf_counter() - t)
    print(f"baseline, same programs without isolation (first 40): median {statistics.median(base):.3f} s; "
          f"ratio {statistics.median(times) / statistics.median(base):.2f}x")


if __name__ == "__main__":
    main()
