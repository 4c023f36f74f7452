"""Map commands: essmap map resident|planner|static (issue: thematic maps)."""
