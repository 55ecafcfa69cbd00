"""The PagerDuty tools the LLM calls: few tools, each answering a whole question (see ``registry``)."""
