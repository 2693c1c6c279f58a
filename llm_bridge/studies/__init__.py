"""The studies: runners that play a game with real models, log every answer and report with tests.

Owns the review and draft study (``review_experiment``, reported by ``review_markdown``), the calibration
study (``calibration``), online play against the real Receiver (``online_play``), alignment from
demonstrations (``afd_experiment``, with ``best_of_n`` and ``demonstration_rewards``), and what they
share: the resumable run log (``run_log``) and the paired tests (``stats``).  The command lines that run
them are in ``experiments/``.
"""
