"""`python -m gateway` is the `ticketgate` command."""

from gateway.cli import main

main()
