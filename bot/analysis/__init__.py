"""Pure functions (no I/O) that turn PagerDuty data into answers: windows, patterns, gaps, health, on-call."""
