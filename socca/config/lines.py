"""Where each key of a TOML text is written, so that errors can name their line."""

from __future__ import annotations

import bisect
import re
import tomllib


class KeyLines:
    """Line numbers of the tables and keys of a (valid) TOML text.

    ``tomllib`` gives no positions, so this scanner walks the text once and
    records where each key path is first written. A path is a tuple of keys,
    with 0-based indices for arrays of tables and array items:
    ``("component", 1, "re", "low")``.

    Parameters
    ----------
    text : str
        The TOML document, already accepted by :func:`tomllib.loads`.
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")
    _END = re.compile(r"[,\]}\n#]")

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.lines = {}
        self._arrays = {}
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]
        self._document()

    def line(self, path) -> int | None:
        """Line of ``path``, or of its deepest recorded parent; None if nothing matches."""
        path = tuple(path)
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def _record(self, path, pos):
        self.lines.setdefault(path, bisect.bisect_left(self._newlines, pos) + 1)

    def _skip(self, newlines=True):
        """Skip blanks and comments (and newlines unless told not to)."""
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif c == "#":
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end
            else:
                break

    def _document(self):
        current = ()
        while True:
            self._skip()
            if self.pos >= len(self.text):
                return
            if self.text.startswith("[[", self.pos):
                current = self._array_header()
            elif self.text[self.pos] == "[":
                current = self._table_header()
            else:
                self._pair(current)

    def _array_header(self):
        """``[[name]]``: the path of the new element of the array of tables."""
        start = self.pos
        self.pos += 2
        keys = self._key()
        name = (*self._resolve(keys[:-1]), keys[-1])
        index = self._arrays[name] = self._arrays.get(name, -1) + 1
        current = (*name, index)
        self.pos = self.text.index("]]", self.pos) + 2
        self._record(name, start)
        self._record(current, start)
        return current

    def _table_header(self):
        """``[name]``: the path of the table."""
        start = self.pos
        self.pos += 1
        current = self._resolve(self._key())
        self.pos = self.text.index("]", self.pos) + 1
        self._record(current, start)
        return current

    def _resolve(self, keys):
        """Insert the current index after every array of tables in a header path."""
        out = ()
        for key in keys:
            out += (key,)
            if out in self._arrays:
                out += (self._arrays[out],)
        return out

    def _key(self):
        keys = []
        while True:
            self._skip(newlines=False)
            if self.text[self.pos] in "\"'":
                keys.append(tomllib.loads(f"k = {self._string()}")["k"])
            else:
                match = self._BARE.match(self.text, self.pos)
                keys.append(match.group())
                self.pos = match.end()
            self._skip(newlines=False)
            if self.text[self.pos] != ".":
                return tuple(keys)
            self.pos += 1

    def _pair(self, parent):
        start = self.pos
        path = parent + self._key()
        self._record(path, start)
        self.pos = self.text.index("=", self.pos) + 1
        self._value(path)

    def _value(self, path):
        self._skip(newlines=False)
        c = self.text[self.pos]
        if c == "{":
            self._items("}", lambda _: self._pair(path))
        elif c == "[":
            self._items("]", lambda index: self._element((*path, index)))
        elif c in "\"'":
            self._string()
        else:
            end = self._END.search(self.text, self.pos)
            self.pos = len(self.text) if end is None else end.start()

    def _items(self, close, item):
        """Consume an inline table or array up to ``close``; ``item(index)`` reads each item."""
        self.pos += 1
        index = 0
        while True:
            self._skip()
            c = self.text[self.pos]
            if c == close:
                self.pos += 1
                return
            if c == ",":
                self.pos += 1
                continue
            item(index)
            index += 1

    def _element(self, path):
        self._record(path, self.pos)
        self._value(path)

    def _string(self):
        """Consume a string of any of the four kinds and return its source text."""
        text, start = self.text, self.pos
        quote = text[start]
        delim = quote * 3 if text.startswith(quote * 3, start) else quote
        i = start + len(delim)
        while not text.startswith(delim, i):
            i += 2 if quote == '"' and text[i] == "\\" else 1
        end = i + len(delim)
        while len(delim) == 3 and text.startswith(quote, end) and end - i < 5:
            end += 1  # up to two quotes may precede a closing delimiter
        self.pos = end
        return text[start:end]
