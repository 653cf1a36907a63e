"""``python -m elmcore.cli``: the ``elm`` command."""

from elmcore.cli import main

main()
