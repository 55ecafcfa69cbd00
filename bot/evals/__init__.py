"""Offline evals of tool selection: YAML cases, a BFCL-style scorer, a runner over the sandbox, a report.

``alex eval`` runs the cases in ``tests/evals/cases/`` against the configured model; the CI tests
drive the same runner with a scripted model. Schema and scoring: shared/docs/evals.md.
"""
