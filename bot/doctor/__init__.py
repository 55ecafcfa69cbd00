"""``alex doctor``: check the Slack, PagerDuty, LLM and state store configuration and connectivity, with the
fix for each problem.

:func:`bot.doctor.command.run_doctor` returns a list of :class:`bot.doctor.report.Check`; the command
prints one line per check (✓ ok, ✗ problem, ! warning, · information) and exits 1 when a check failed.
Secrets are never printed: messages name the variables, never their values.
"""
