"""`python -m cxone_provider` is the `cxone` command."""

from cxone_provider.cli import main

main()
