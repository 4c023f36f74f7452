"""essmap: maps and proximity queries for short food-supply circuits around France's QPVs."""

__version__ = "0.1.0"
