"""Seeded accounts for the sandbox: ``demo`` (a believable company) and ``large`` (benchmarks)."""
