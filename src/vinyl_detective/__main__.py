"""`python -m vinyl_detective` is the same as the `vinyl-detective` command."""

from vinyl_detective.cli import main

main()
