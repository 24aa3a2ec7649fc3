"""The failures a person can act on. Commands show their message in one line, no traceback."""


class FastcartError(Exception):
    """A failure whose message says what happened and what to do."""
