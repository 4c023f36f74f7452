"""Analysis commands: nearest, locate, coverage, suggest (issue: proximity and coverage engine)."""
