"""The brain between a message and the PagerDuty tools: LLM tool loop, command mode, thread memory."""
