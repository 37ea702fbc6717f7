"""One exception hierarchy for the whole tool, translated once at the CLI edge.

Every message names the fix, so ``cli.py`` can print ``str(error)`` as one line and exit 2.

A message that names a search option writes it with :func:`option`, so ONE message serves every caller:
``str(error)`` names the command line's flag (``--weights '1,x': ...``), ``error.render(API)`` the HTTP
API's query parameter (``weights='1,x': ...``; ``claims serve``).
"""

from __future__ import annotations

import re

CLI = "cli"
API = "api"
# The options whose API parameter is not the option's own name (``claims search --limit`` is ``k=``).
API_NAMES = {"limit": "k"}
# Switches: ``--literal`` on the command line is ``literal=true`` in a URL.
SWITCHES = frozenset({"literal", "explain", "cluster", "clean"})
_MARK, _VALUE = "\x1f", "\x1e"
_OPTION_RX = re.compile(f"{_MARK}([a-z_]+)(?:{_VALUE}([^{_MARK}]*))?{_MARK}")


def option(name: str, value: object = None) -> str:
    """An option named in a message (with the value it was given, when ``value`` is not None), rendered
    per caller by :meth:`ClaimsError.render`: ``--around-days 0`` for the CLI, ``around_days=0`` for the
    API; a mention without a value is ``--depth`` / ``depth`` (a switch: ``--literal`` / ``literal=true``). ``name`` is the option's key (``SearchOptions`` field or API parameter: ``weights``, ``since``,
    ``around_days``, ``by``, ``id``); ``value`` is written as given (``str``)."""
    if value is None:
        return f"{_MARK}{name}{_MARK}"
    text = str(value).replace(_MARK, "").replace(_VALUE, "")  # a value cannot end the mark early
    return f"{_MARK}{name}{_VALUE}{text}{_MARK}"


def render(text: str, style: str = CLI, names: dict[str, str] | None = None) -> str:
    """``text`` with each :func:`option` as the CLI's flag (``style`` ``CLI``) or the API's parameter
    (``API``; ``names`` overrides ``API_NAMES`` for one endpoint: ``/api/export`` calls ``--limit``
    ``limit``)."""

    def one(m: re.Match) -> str:
        key, value = m.group(1), m.group(2)
        if style == API:
            name = (API_NAMES | (names or {})).get(key, key)
            if value is None:  # a mention: the bare parameter name ("raise depth to ...")
                return f"{name}=true" if key in SWITCHES else name
            return f"{name}={value}"
        flag = "--" + key.replace("_", "-")
        return flag if value is None else f"{flag} {value}"

    return _OPTION_RX.sub(one, text)


class ClaimsError(Exception):
    """Base class: a problem the user can fix; its message is one line that names the fix (the CLI
    prints it and exits 2). ``str(e)`` names CLI flags; ``e.render(API)`` the HTTP API's parameters."""

    def __str__(self) -> str:
        return self.render(CLI)

    def render(self, style: str = CLI, names: dict[str, str] | None = None) -> str:
        """The message for one caller (see :func:`render`)."""
        return render(super().__str__(), style, names)


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
