"""The brain between a message and the PagerDuty tools: LLM adapter, tool loop, command mode, prompt.

It knows no front door: Slack (:mod:`bot.slack`) and the terminal (:mod:`bot.terminal`) call it."""
