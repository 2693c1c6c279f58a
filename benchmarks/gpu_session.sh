#!/usr/bin/env bash
# The device checks issue 27 still needs, as one call on a lent GPU (about 6-8 minutes after the start):
#   run: bash benchmarks/gpu_session.sh        (writes under $OUT, or ./gpu_session_out without it)
# 1. the decoder tests on CUDA: greedy ids equal to generate's, compiled and flex steps equal to eager, the
#    in-place-weights test that failed on an H200 before the cuBLAS-workspace fix (never re-run since), and
#    the two-stage argmax / log-sum-exp property where the machine has hypothesis;
# 2. batch-1 and batch-256 decode of the Qwen2.5-0.5B shape (random weights, bf16), the compiled loop with
#    SDPA attention (the baseline: 1.19 ms/step at batch 1 on an H200) beside the compiled loop with flex
#    attention (a kernel split over the cache length, filled blocks only), in the same run, each profiled
#    at batch 1 (kernels per step, busy time, the costliest kernels: did the argmax and the attention shrink?).
# Each part has its own time limit, so a hang in one leaves the other's files.
set -u
cd "$(dirname "$0")/.."
out="${OUT:-gpu_session_out}"
mkdir -p "$out"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, transformers, sys; print(sys.version); print(torch.__version__, torch.version.cuda, transformers.__version__)"
} > "$out/versions.txt" 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
tests=(tests/test_static_decoder.py)      # the vocabulary reduction's property test needs hypothesis
python3 -c "import hypothesis" 2>/dev/null && tests+=(tests/test_vocab_reduction.py)
timeout 240 python3 -m pytest --noconftest -q -k cuda "${tests[@]}" > "$out/pytest_cuda.txt" 2>&1
echo "pytest exit $?" >> "$out/pytest_cuda.txt"
timeout 300 python3 -m benchmarks.bench_generation --device cuda --shapes qwen05 --dtype bfloat16 --batches 1 256 \
    --new-tokens 256 --prompt-tokens 400 --repeats 1 --paths compiled compiled-flex --profile-batches 1 \
    --json "$out/qwen05_flex_vs_sdpa.json" > "$out/bench.txt" 2>&1
echo "bench exit $?" >> "$out/bench.txt"
tail -n 3 "$out/pytest_cuda.txt"; cat "$out/bench.txt" | tail -n 12
