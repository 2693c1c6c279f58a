"""Figure scripts run end to end and write non-empty PNG and PDF files."""
import json

import pytest

from paper_figures import fig_concave_closure
from persuasion import examples, solve


def test_concave_closure_figure_default(tmp_path):
    paths = fig_concave_closure.main(["--out", str(tmp_path)])
    assert {p.suffix for p in paths} == {".png", ".pdf"}
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_concave_closure_figure_from_saved_solution(tmp_path):
    sol = solve(examples.load("single_belief_middle"), exact=True)
    path = tmp_path / "sol.json"
    path.write_text(json.dumps(sol.to_dict()))
    paths = fig_concave_closure.main(["--solution", str(path), "--out", str(tmp_path / "f")])
    assert all(p.exists() for p in paths)


def test_regret_figure_from_a_saved_study(tmp_path):
    from experiments.regret_study import run_study
    from paper_figures import fig_regret
    cfg = {"name": "fig", "T": 2000, "seeds": [0, 1], "games": ["prosecutor_judge", "single_belief_middle"],
           "learners": [{"kind": "robust"}, {"kind": "oracle"}], "parallel": {"backend": "sequential"}}
    run_study(cfg, tmp_path / "study", progress=False)
    paths = fig_regret.main(["--results", str(tmp_path / "study"), "--out", str(tmp_path / "fig")])
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
    (tmp_path / "study" / "results" / "notes.json").write_text('{"about": "a stray file"}')   # was a KeyError
    with pytest.raises(SystemExit, match=r"fig_regret: report .*notes\.json' is not the report of a regret study's "
                                         r"run: it has no 'game'"):
        fig_regret.main(["--results", str(tmp_path / "study"), "--out", str(tmp_path / "fig")])


def _pngs_written(paths):
    paths = list(paths)
    return [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


def test_kl_fits_figure(tmp_path):
    pytest.importorskip("cvxpy")
    from paper_figures import fig_kl_fits
    assert _pngs_written(fig_kl_fits.draw(tmp_path))


def test_delta_robust_figure_from_saved_results(tmp_path):
    from experiments.delta_robust import compute
    from paper_figures import fig_delta_robust
    (tmp_path / "delta_robust.json").write_text(json.dumps(compute(T=2000, seeds=(0,))))
    assert _pngs_written(fig_delta_robust.draw(tmp_path, tmp_path / "fig"))
    (tmp_path / "delta_robust.json").write_text("{cut short")                  # was a JSONDecodeError traceback
    assert fig_delta_robust.main(["--results", str(tmp_path), "--out", str(tmp_path / "fig")]) == 2


def test_one_command_draws_every_saved_figure_and_names_what_is_missing(tmp_path, monkeypatch, capsys):
    """`python -m paper_figures` draws each figure whose results are saved, and for the others says which file
    is missing and the command that makes it (exit status 1).  It reads the checkout's results from any
    working folder (read relative to it, every figure was skipped outside the checkout's root)."""
    import paper_figures.__main__ as allfigs
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "all"
    assert allfigs.main(["--out", str(out), "--only", "kl_fits", "delta_robust", "llm_review_gsm_qwen05"]) == 0
    assert {p.name for p in out.iterdir()} == {f"{s}.{e}" for s in ("kl_fits", "delta_robust", "llm_review_gsm_qwen05")
                                               for e in ("png", "pdf")}
    monkeypatch.setattr(allfigs, "RESULTS", tmp_path / "nothing")
    monkeypatch.setattr(allfigs.FIGURES["afd_best_of_n"], "needs", tmp_path / "nothing" / "report.json")
    assert allfigs.main(["--out", str(out), "--only", "afd_best_of_n"]) == 1
    said = capsys.readouterr().out
    assert f"afd_best_of_n: skipped, {tmp_path / 'nothing' / 'report.json'} is not saved; make it with (in " in said


def test_afd_figure_and_tables_from_a_report(tmp_path, monkeypatch):
    from paper_figures import fig_afd_best_of_n
    rows = [{"policy": p, "selector": s, "n": n, "exact": 0.1 * n, "drawn": 0.1, "wilson": [0.0, 0.3],
             "n_problems": 100, "proxy_classifier": float(n), "proxy_log_ratio": -float(n), "kl_estimate": 0.1 * n}
            for p in ("init", "sft") for s in ("random", "classifier", "log_ratio", "oracle") for n in (1, 2, 4)]
    tests = [{"policy": "sft", "selector": "classifier", "n": 2, "b": 3, "c": 1, "diff": 0.02, "p": 0.6,
              "p_holm": 1.0}]
    report = {"config": {"ns": [1, 2, 4]}, "best_of_n": rows, "tests": tests}
    paths = fig_afd_best_of_n.draw(report, tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths)
    table = fig_afd_best_of_n.markdown(report)
    assert "| sft | Init-SFT classifier | 2 | 3 | 1 | +0.020 | 0.6 | 1 |" in table
    assert table.count("\n| init |") == 4
    # a report with the controls: every selector drawn, the pools' description and each test family
    sels = list(fig_afd_best_of_n.COLOURS)
    rows = [{**r, "selector": s} for r in rows if r["selector"] == "random" for s in sels]
    full = {**tests[0], "against": "random", "diff_exact": 0.015, "n_problems_differing": 7, "p_sign_flip": 0.01,
            "p_sign_flip_holm": 0.04}
    report = {"config": {"ns": [1, 2, 4]}, "best_of_n": rows, "tests": [full],
              "tests_vs_format": [{**full, "against": "format"}], "power_check": [{**full, "selector": "oracle"}],
              "truncated": {"init": 0.2, "sft": 0.0}, "format_rate": {"init": 0.1, "sft": 1.0},
              "accuracy_per_sample": {"init": 0.2, "sft": 0.5}, "mean_tokens": {"init": 40.0, "sft": 12.0},
              "length_correlation": {"format": {"init": None, "sft": 0.1}}}
    assert fig_afd_best_of_n.selectors(report) == sels
    paths = fig_afd_best_of_n.draw(report, tmp_path, stem="controls")
    assert all(p.stat().st_size > 1000 for p in paths)
    table = fig_afd_best_of_n.markdown(report)
    assert table.count("\n| init |") == len(sels) + 1          # each selector's row and the pool's row
    assert "| init | 0.200 | 0.200 | 0.100 | 40.0 | n/a |" in table
    assert "| sft | Init-SFT classifier | 2 | +0.015 | 7 | 0.01 | 0.04 | 3 | 1 | +0.020 | 0.6 | 1 |" in table
    assert table.count("Paired tests") == 3 and "| sft | oracle (checker) | 2 |" in table
    report["trend_tests"] = [{"policy": "init", "selector": "log_ratio", "from_n": 1, "to_n": 2, "diff": 0.05,
                              "n_problems_differing": 9, "p": 0.002, "p_holm": 0.03, "proxy_classifier_change": 0.5,
                              "proxy_log_ratio_change": 3.25}]
    assert "| init | log-ratio | 1 -> 2 | +0.050 | 9 | 0.002 | 0.03 | +0.50 | +3.25 |" in fig_afd_best_of_n.markdown(report)
    # trained baselines add a row of panels (pass@k, answer diversity), with intervals or, in older reports, without
    pols = {p: {"pass_at": {"1": 0.1 + i / 10, "2": 0.2 + i / 10}, "distinct_answers": 2.0 - i / 2,
                "answer_entropy": 0.5, "n_problems": 100, "pool_size": 2,
                "pass_at_interval": {"1": [0.05 + i / 10, 0.15 + i / 10], "2": [0.1 + i / 10, 0.3 + i / 10]},
                "distinct_answers_interval": [1.5 - i / 2, 2.5 - i / 2]}
            for i, p in enumerate(("init", "sft", "rkl"))}
    report["reverse_kl"] = {"policies": pols, "training": {}, "tests": []}
    report["dpo"] = {"policies": {p: {k: v for k, v in pols[q].items() if "interval" not in k}
                                  for p, q in (("init", "init"), ("sft", "sft"), ("dpo", "rkl"))},
                     "training": {}, "tests": []}
    import matplotlib.image
    two_rows = matplotlib.image.imread(paths[0]).shape[0]
    three_rows = matplotlib.image.imread(fig_afd_best_of_n.draw(report, tmp_path, stem="trained")[0]).shape[0]
    assert three_rows > 1.3 * two_rows
    # past the ten cycle colours a policy still looks like no other (the chain-sum run has eleven)
    import matplotlib.pyplot as plt
    many = {f"p{i}": pols["rkl"] for i in range(12)}
    fig, axes = plt.subplots(1, 2)
    fig_afd_best_of_n._draw_baselines(axes, [{"policies": many}])
    looks = [(c.lines[0].get_color(), c.lines[0].get_marker()) for c in axes[0].containers]
    bars = [(b.get_facecolor(), b.get_hatch()) for b in axes[1].patches]
    plt.close(fig)
    assert len(looks) == 12 and len(set(looks)) == 12 and len(set(bars)) == 12
    # two trainings on the format-blind reward add a fourth row: each policy's pass@1 against the reward on
    # its pool and the KL its training ended at, read from the sections that hold them (the first training's
    # own section; the variant's, whose policy comes last)
    rewards = {"init": {"mean": -2.0, "interval": [-2.1, -1.9]}, "sft": {"mean": 0.5, "interval": [0.4, 0.6]}}
    blind = {"policies": {**pols, "rkl_nf": pols["rkl"]},
             "training": {"kl_per_token_last_steps": 0.1, "reward_without_format": "chain_sum"},
             "reward_on_pools": {**rewards, "rkl_nf": {"mean": -0.3, "interval": [-0.4, -0.2]}}, "tests": []}
    assert fig_afd_best_of_n.format_blind_trainings({**report, "reverse_kl_no_format": blind}) == {}
    further = {"policies": {**blind["policies"], "rkl_nf_lr3e-05": pols["sft"]}, "changes": "learning rate 3e-05",
               "training": {"kl_per_token_last_steps": 0.4, "reward_without_format": "chain_sum"}, "tests": [],
               "reward_on_pools": {**blind["reward_on_pools"],
                                   "rkl_nf_lr3e-05": {"mean": 0.25, "interval": [0.2, 0.3]}}}
    report.update(reverse_kl_no_format=blind, reverse_kl_no_format_variants={"rkl_nf_lr3e-05": further})
    points = fig_afd_best_of_n.format_blind_trainings(report)
    assert list(points) == ["init", "sft", "rkl_nf", "rkl_nf_lr3e-05"]
    assert points["rkl_nf"]["kl"] == 0.1 and points["rkl_nf_lr3e-05"]["kl"] == 0.4 and points["sft"]["kl"] is None
    assert points["rkl_nf_lr3e-05"]["pass@1"] == pols["sft"]["pass_at"]["1"]
    assert points["rkl_nf_lr3e-05"]["reward_interval"] == [0.2, 0.3]
    four_rows = matplotlib.image.imread(fig_afd_best_of_n.draw(report, tmp_path, stem="goodhart")[0]).shape[0]
    assert four_rows > 1.2 * three_rows
    # the fourth row's names, one per point, sit below both of its panels (inside, they hid points)
    seen, save = [], fig_afd_best_of_n.save_figure

    def measure_then_save(fig, *args, **kwargs):       # saving closes the figure, so measure it first
        renderer = fig.canvas.get_renderer()
        (legend,) = fig.legends
        seen.append((len(legend.get_texts()), legend.get_window_extent(renderer).y1,
                     [ax.get_tightbbox(renderer).y0 for ax in fig.axes[6:8]]))     # the fourth row's panels
        return save(fig, *args, **kwargs)
    monkeypatch.setattr(fig_afd_best_of_n, "save_figure", measure_then_save)
    fig_afd_best_of_n.draw(report, tmp_path, stem="goodhart_legend")
    (n_names, legend_top, panel_bottoms), = seen
    assert n_names == len(points) and legend_top < min(panel_bottoms)


def test_afd_tables_show_the_trained_baselines():
    """The DPO and reverse-KL sections of a report become pass@k / diversity tables with their tests."""
    from paper_figures import fig_afd_best_of_n
    pols = {p: {"pass_at": {"1": a, "2": b}, "distinct_answers": d, "answer_entropy": h, "n_problems": 200,
                "pool_size": 2}
            for p, a, b, d, h in (("init", 0.1, 0.15, 1.9, 0.6), ("sft", 0.5, 0.6, 1.4, 0.3),
                                  ("rkl", 0.45, 0.5, 1.2, 0.2))}
    section = {"policies": pols, "rkl_pool": {"truncated": 0.0, "mean_tokens": 11.5},
               "training": {"steps": 50, "reward_last": 0.25},
               "tests": [{"a": "sft", "b": "rkl", "measure": "distinct answers", "diff": 0.2,
                          "n_problems_differing": 40, "p": 0.004, "p_holm": 0.03}]}
    report = {"config": {"ns": [1, 2]}, "best_of_n": [], "reverse_kl": section}
    table = fig_afd_best_of_n.markdown(report)
    assert "| rkl | 0.450 | 0.500 | 1.20 | 0.200 |" in table
    assert "| sft | rkl | distinct answers | +0.200 | 40 | 0.004 | 0.03 |" in table
    assert "Its pool: truncated 0.000, mean tokens 11.500; training: steps 50, reward last 0.25" in table
    assert "DPO" not in table and "reward it maximised" not in table
    section["reward_on_pools"] = {"init": {"mean": -2.0, "interval": [-2.25, -1.75]},
                                  "rkl": {"mean": 0.5, "interval": [0.25, 0.75]}}
    assert "init -2.00 [-2.25, -1.75], rkl +0.50 [+0.25, +0.75]" in fig_afd_best_of_n.markdown(report)
    # the route on the format-blind reward: its own section, with its classifier's held-out accuracy
    report["reverse_kl_no_format"] = {**section, "rkl_nf_pool": {"truncated": 0.0},
                                      "classifier_held_out": {"accuracy": 0.833, "auc": 0.918}}
    table = fig_afd_best_of_n.markdown(report)
    assert "blind to the format lines" in table and "accuracy 0.833, AUC 0.918" in table
    # its replicate with another training seed: a section of its own, after the first
    replicate = {**section, "policies": {**pols, "rkl_nf_s1": pols["rkl"]}, "rkl_nf_s1_pool": {"truncated": 0.25}}
    report["reverse_kl_no_format_replicates"] = {"1": replicate}
    table = fig_afd_best_of_n.markdown(report)
    assert table.index("blind to the format lines") < table.index("trained again, training seed 1")
    assert "| rkl_nf_s1 | 0.450 |" in table and "Its pool: truncated 0.250" in table
    for v in replicate["policies"].values():               # a newer report: the samples' shapes as columns
        v.update(single_line=0.9, repeated_text=0.35)
    assert "| rkl_nf_s1 | 0.450 | 0.500 | 1.20 | 0.200 | 90.0% | 35.0% |" in fig_afd_best_of_n.markdown(report)
    assert fig_afd_best_of_n.policy_name("rkl_nf_s1") == "reverse KL, format-blind, training seed 1"
    # the trainings' spread, where the report holds it
    report["reverse_kl_no_format_seed_spread"] = {"pass@1": {
        "per_training": {"rkl_nf": 0.22, "rkl_nf_s1": 0.23}, "mean": 0.225, "sd": 0.00707, "range": [0.22, 0.23]}}
    table = fig_afd_best_of_n.markdown(report)
    assert "across its 2 trainings" in table and "| pass@1 | 0.220 | 0.230 | 0.225 | 0.007 | 0.220-0.230 |" in table
    assert "training seed 1 | mean |" in table
    # a variant trained further: its own section after the replicates, named by what it changes
    variant = {**section, "changes": "learning rate 3e-05", "policies": {**pols, "rkl_nf_lr3e-05": pols["rkl"]},
               "rkl_nf_lr3e-05_pool": {"truncated": 0.125}}
    report["reverse_kl_no_format_variants"] = {"rkl_nf_lr3e-05": variant}
    table = fig_afd_best_of_n.markdown(report)
    assert table.index("training seed 1") < table.index("trained further (rkl_nf_lr3e-05: learning rate 3e-05")
    assert "| rkl_nf_lr3e-05 | 0.450 |" in table and "Its pool: truncated 0.125" in table
    assert (fig_afd_best_of_n.policy_name("rkl_nf_lr3e-05", report)
            == "reverse KL, format-blind, learning rate 3e-05")
    assert "learning rate 3e-05, the first training's seed)" in table
    # one trained with a replicate's seed says that seed, not the first training's
    report["reverse_kl_no_format_variants"]["rkl_nf_lr3e-05_s1"] = {
        **variant, "changes": "learning rate 3e-05, training seed 1",
        "training": {**variant["training"], "training_seed": 1}}
    table = fig_afd_best_of_n.markdown(report)
    assert "(rkl_nf_lr3e-05_s1: learning rate 3e-05, training seed 1)" in table
    assert (fig_afd_best_of_n.policy_name("rkl_nf_lr3e-05_s1", report)
            == "reverse KL, format-blind, learning rate 3e-05, training seed 1")


def test_a_figure_from_a_missing_broken_or_foreign_report_names_the_file_and_the_fault(tmp_path, capsys):
    """Each figure drawn from saved reports exits 2 with one line naming the file, never a traceback."""
    import importlib

    import pytest
    foreign, broken = tmp_path / "foreign.json", tmp_path / "broken.json"
    foreign.write_text(json.dumps({"rows": []}))
    broken.write_text('{"modes": ')
    faults = {tmp_path / "none.json": "cannot read report", broken: "is not JSON", foreign: "is not the report of"}
    for name in ("fig_online_llm", "fig_llm_review", "fig_belief_probe", "fig_afd_best_of_n"):
        module = importlib.import_module(f"paper_figures.{name}")
        for path, fault in faults.items():
            with pytest.raises(SystemExit) as stop:
                module.main([str(path), "--out", str(tmp_path / "fig")])
            err = capsys.readouterr().err
            assert stop.value.code == 2 and fault in err and str(path) in err and "Traceback" not in err
    assert not (tmp_path / "fig").exists()


def test_the_closure_figure_names_a_file_that_is_not_a_solution_or_not_a_game(tmp_path, capsys):
    """A solution without its game ended in KeyError: 'game'; a bad game file in a GameFileError traceback."""
    import pytest
    from paper_figures import fig_concave_closure
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"x": 1}))
    cases = [(["--solution", str(foreign)], "is not the report of a solution"),
             (["--solution", str(tmp_path / "none.json")], "cannot read report"),
             (["--game", str(foreign)], "missing required field(s) prior, sender, receiver"),
             (["--game", str(tmp_path / "none.json")], "cannot read game file")]
    for argv, fault in cases:
        with pytest.raises(SystemExit) as stop:
            fig_concave_closure.main([*argv, "--out", str(tmp_path / "fig")])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and fault in err and "Traceback" not in err
    assert not (tmp_path / "fig").exists()
