"""Presenters: one per result type, each with a Block Kit and a plain-text output (see :mod:`.base`).

Data flows one way: tools → present → agent (command-mode text) → slack / terminal (whole messages).
"""
