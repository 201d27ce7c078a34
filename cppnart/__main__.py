"""`python -m cppnart` runs the command line."""

from .cli import main

main()
