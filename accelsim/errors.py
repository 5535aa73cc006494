"""The one base class of errors caused by user input (shown as one line by the CLI)."""


class InputError(ValueError):
    """Invalid input; the message is one line naming the field and the allowed range."""
