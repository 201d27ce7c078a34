"""The one exception type that means "the user asked for something we cannot do".

The CLI turns it into a single line on stderr and exit code 2; the library lets it propagate
so notebook users get a normal exception with the same message.
"""


class UserError(Exception):
    """Bad input from the user: the message says what was wrong and what to do instead."""
