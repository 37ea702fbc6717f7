"""One exception hierarchy for the whole tool, translated once at the CLI edge.

Every message names the fix, so ``cli.py`` can print ``str(error)`` as one line and exit 2.
"""


class ClaimsError(Exception):
    """Base class: a problem the user can fix; its message is one line that names the fix (the CLI
    prints it and exits 2)."""


class IndexNotFoundError(ClaimsError):
    """The index folder does not exist or holds no committed manifest."""


class IndexVersionError(ClaimsError):
    """The manifest's format version is not the one this tool reads."""


class IndexCorruptError(ClaimsError):
    """A store file is truncated or unreadable."""


class IndexLockedError(ClaimsError):
    """Another writer holds the index lock."""


class ModelMismatchError(ClaimsError):
    """The query model differs from the model the index was built with."""


class QuerySyntaxError(ClaimsError):
    """Whoosh could not parse the query."""


class InputFormatError(ClaimsError):
    """An input file or record cannot be read (binary, empty, malformed...)."""

    def __init__(self, origin: str, reason: str):
        self.origin = origin
        self.reason = reason
        super().__init__(f"{origin}: {reason}")


class NotFoundError(ClaimsError):
    """A passage or article id that the index does not hold."""
