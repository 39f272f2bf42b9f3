"""The error of a configuration file, and the phrases its messages are made of."""

from __future__ import annotations

import difflib
import os
import re

from socca.errors import SoccaError


class ConfigError(SoccaError, ValueError):
    """An error in a configuration file; its message is one line.

    Parameters
    ----------
    message : str
        What is wrong, naming the key.
    path : str or os.PathLike, optional
        The configuration file, as the user named it.
    line : int, optional
        1-based line of the offending key.
    """

    def __init__(self, message, path=None, line=None):
        self.reason = " ".join(str(message).split())
        self.path = None if path is None else os.fspath(path)
        self.line = line
        where = "" if path is None else f"{self.path}:" + ("" if line is None else f"{line}:")
        super().__init__(f"{where} {self.reason}" if where else self.reason)


def choices(names) -> str:
    """``names`` as a comma-separated list."""
    return ", ".join(str(n) for n in names)


def suggest(word, names) -> str:
    """`` (did you mean 'x'?)`` for the name of ``names`` closest to ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(n) for n in names], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(what, word, names, match=None, hint=True) -> str:
    """``unknown <what> 'word' (did you mean ...?); expected one of: ...``.

    Parameters
    ----------
    what : str
        What ``word`` should have been, e.g. ``"prior"``.
    word : str
        The name given.
    names : iterable of str
        The names allowed.
    match : str, optional
        The spelling compared with ``names`` for the suggestion (default ``word``).
    hint : bool
        Whether to suggest the closest name.
    """
    close = suggest(word if match is None else match, names) if hint else ""
    return f"unknown {what} {word!r}{close}; expected one of: {choices(names)}"


def unknown_key(key, title, names) -> str:
    """``unknown key 'key' in <title> (did you mean ...?); expected one of: ...``."""
    return f"unknown key {key!r} in {title}{suggest(key, names)}; expected one of: {choices(names)}"


def kind(value) -> str:
    """The TOML name of a value's type, for messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             dict: "a table", list: "an array"}
    return names.get(type(value), type(value).__name__)


def show(value) -> str:
    """``value`` as TOML would write it, cut to 40 characters."""
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 40 else text[:37] + "..."


def dotted(path) -> str:
    """A key path as the messages name it: ``("image", "mask", 0)`` is ``image.mask[0]``."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def named(message, keys):
    """The key an error message names: quoted if possible, else as a whole word."""
    quoted = [k for k in keys if repr(k) in message]
    if quoted:
        return quoted[0]
    return next((k for k in keys if re.search(rf"\b{re.escape(k)}\b", message)), None)
