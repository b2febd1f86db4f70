"""Errors that the CLI reports as one clear line (exit code 1) instead of a traceback."""


class ImuformError(Exception):
    """A runtime failure with a message that says what went wrong and what to do."""


class InputError(ImuformError):
    """Bad user input: a file, a line and a column where known, and the fix."""
