"""Block Kit building blocks every presenter shares: blocks, escaping, Slack's limits, prose."""
