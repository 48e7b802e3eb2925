"""The one base class of errors a user can fix (bad input, not a bug).

Every stage raises its own subclass (``SpecError``, ``ContractError``, ``ModelRefError``,
``ConfigError`` ...), each naming the file, line and field or the option; the command line
catches ``UserError`` and prints one line instead of a traceback. It sits below every
stage, so no stage imports another to know what counts as a user's error.
"""


class UserError(ValueError):
    """Bad input: the message names what to fix."""
