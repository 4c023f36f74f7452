"""``python -m essmap`` runs the command line."""

from essmap.cli import main

main()
