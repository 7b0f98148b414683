"""The one exception type that the CLI turns into a clean one-line error."""


class UserError(Exception):
    """Bad input from the user: the message names the problem and the fix."""
