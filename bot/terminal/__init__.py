"""The terminal front door: ``alex chat``, ``alex ask`` and ``alex demo`` (:mod:`bot.terminal.cli`), who they
act as (:mod:`bot.terminal.session`: the sandbox or a PagerDuty account), plain-text output and exit codes."""
