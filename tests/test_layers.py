"""The core's layers: the regret bound does not import the online package, and nothing in the core
imports torch, transformers or the scripts (checked in a fresh interpreter)."""
import subprocess
import sys

import pytest


def _modules_after(stmt: str) -> set:
    code = f"import sys; {stmt}; print('\\n'.join(sorted(sys.modules)))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return set(res.stdout.split())


def test_bounds_does_not_import_the_online_package():
    mods = _modules_after("import persuasion.bounds")
    assert "persuasion.bounds" in mods and "persuasion.confidence" in mods
    assert not any(m.startswith("persuasion.online") for m in mods)


def test_core_imports_no_model_stack_and_no_scripts():
    mods = _modules_after("import persuasion, persuasion.online, persuasion.bounds")
    for heavy in ("torch", "transformers", "llm_bridge", "experiments", "paper_figures", "benchmarks"):
        assert heavy not in mods, heavy


def test_no_core_module_imports_a_script_even_lazily():
    """The demo used to import experiments and paper_figures from inside persuasion.cli."""
    import re
    from pathlib import Path
    import persuasion
    pattern = re.compile(r"^\s*(from|import)\s+(experiments|paper_figures|benchmarks|llm_bridge)\b", re.M)
    offenders = [str(p) for p in Path(persuasion.__file__).parent.rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders, offenders


def test_every_exported_name_has_a_runnable_example():
    """Each name in the public namespaces' __all__ documents itself with an example (run as a doctest by
    pytest's --doctest-modules, pyproject.toml)."""
    import importlib
    import inspect
    missing = []
    for mod in ("persuasion", "persuasion.online", "persuasion.afd", "persuasion.bounds", "persuasion.approximate"):
        m = importlib.import_module(mod)
        for name in m.__all__:
            if ">>>" not in (inspect.getdoc(getattr(m, name)) or ""):
                missing.append(f"{mod}.{name}")
    assert not missing, f"no example in the docstring of {missing}"


def test_api_reference_builds_from_the_docstrings(tmp_path):
    """The documented command (python3 docs/build_api.py) renders a page per public module with pdoc."""
    import importlib.util
    pytest.importorskip("pdoc")
    spec = importlib.util.spec_from_file_location("build_api", "docs/build_api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    index = mod.build(tmp_path)
    assert index.exists()
    for name in mod.MODULES:
        page = tmp_path / (name.replace(".", "/") + ".html")
        assert page.exists(), page
    assert "check_certificate" in (tmp_path / "persuasion.html").read_text()


def test_nothing_outside_the_core_imports_a_private_core_module_and_figures_never_import_runners():
    """The bridge, the runners, the figures and the tests use the core's public modules only, and the
    arrows run one way: a figure script draws saved results and imports no runner."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    private = re.compile(r"^\s*(from|import)\s+persuasion(\.\w+)*\._\w+", re.M)
    upward = re.compile(r"^\s*(from|import)\s+experiments\b", re.M)
    offenders = [str(p.relative_to(root)) for d in ("llm_bridge", "experiments", "paper_figures", "benchmarks", "tests")
                 for p in (root / d).rglob("*.py") if private.search(p.read_text())]
    offenders += [str(p.relative_to(root)) for p in (root / "paper_figures").rglob("*.py") if upward.search(p.read_text())]
    assert not offenders, offenders


def test_every_error_the_core_raises_on_purpose_is_a_persuasion_error():
    from persuasion import PersuasionError
    from persuasion.online import RegretAccountingError
    from persuasion.rational import SimplexError
    assert issubclass(SimplexError, PersuasionError) and issubclass(SimplexError, ArithmeticError)
    assert issubclass(RegretAccountingError, PersuasionError)


def test_the_architecture_page_names_every_module():
    """docs/architecture.md is drawn from the code: every module of the core and of the bridge appears."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(root)) for pkg in ("persuasion", "llm_bridge") for p in (root / pkg).rglob("*.py")
               if p.name != "__init__.py" and p.name not in page]
    assert not missing, f"docs/architecture.md does not mention {missing}"


def test_the_core_test_run_collects_with_the_model_stack_blocked(tmp_path):
    """``pytest --core`` (the ``test-core`` extra: no torch) collects the core's tests, its doctests and the
    README's, and nothing of the LLM half, in an interpreter where importing torch, transformers or
    llama.cpp raises."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for name in ("torch", "transformers", "llama_cpp", "tokenizers", "safetensors"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked')\n")
    import os
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "pytest", "--core", "--collect-only", "-q", "-p", "no:cacheprovider"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ids = [line for line in res.stdout.splitlines() if "::" in line]
    files = {i.split("::")[0] for i in ids}
    assert "tests/test_solve.py" in files and "README.md" in files and "persuasion/solve.py" in files
    assert not any(f.startswith(("llm_bridge", "docs", "experiments")) or "llm" in f for f in files), files
    assert len(ids) > 250


def test_the_bridges_sub_packages_import_only_downwards():
    """models and tasks know no game or study, games know no study (imports inside functions count)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "llm_bridge"
    above = {"models": ("games", "studies", "tasks"), "tasks": ("games", "studies", "models"),
             "games": ("studies",)}
    offenders = []
    for pkg, banned in above.items():
        pattern = re.compile(rf"^\s*(from|import)\s+llm_bridge\.({'|'.join(banned)})\b", re.M)
        offenders += [str(p.relative_to(root)) for p in (root / pkg).glob("*.py") if pattern.search(p.read_text())]
    assert not offenders, offenders
    assert sorted(p.name for p in root.iterdir() if p.suffix == ".py") == ["__init__.py"]
