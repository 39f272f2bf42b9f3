"""The parsed configuration file, read key by key into checked, located values."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import astropy.units as u

from socca.config.errors import ConfigError, dotted, kind, show, unknown_key
from socca.config.lines import KeyLines

QUANTITY_EXAMPLE = "a quantity string such as '2 arcsec'"


class Reader:
    """The parsed file, its key lines and its folder: reads values and makes located errors.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.

    Raises
    ------
    ConfigError
        If the file does not exist or is not valid TOML.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.shown = os.fspath(path)
        if not self.path.is_file():
            raise ConfigError(f"configuration file not found: {self.path.absolute()}")
        text = self.path.read_text(encoding="utf-8")
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            found = re.search(r"line (\d+)", str(err))
            line = int(found.group(1)) if found else None
            raise ConfigError(f"invalid TOML: {err}", self.shown, line) from None
        try:
            self.keys = KeyLines(text)
        except (AttributeError, IndexError, ValueError):  # a scanner gap: errors lose lines only
            self.keys = KeyLines("")
        self.folder = self.path.absolute().parent

    def error(self, path, message) -> ConfigError:
        """A :class:`ConfigError` at the line of key ``path`` (``()``: the file, no line)."""
        return ConfigError(message, self.shown, self.keys.line(path))

    def table(self, path, value, allowed, title):
        """``value`` checked to be a table whose keys are all in ``allowed``."""
        if not isinstance(value, dict):
            raise self.error(path, f"{dotted(path)}: expected a table, got {kind(value)}")
        self.reject_unknown(path, [(k,) for k in value], allowed, title)
        return value

    def reject_unknown(self, path, keys, allowed, title):
        """Raise for the first written of ``keys`` (tuples, joined by dots) not in ``allowed``."""
        unknown = [k for k in keys if ".".join(k) not in allowed]
        if unknown:
            first = min(unknown, key=lambda k: self.keys.line((*path, *k)) or 0)
            raise self.error((*path, *first), unknown_key(".".join(first), title, allowed))

    def require(self, path, spec, keys, title):
        """Raise for the first of ``keys`` missing from table ``spec``."""
        missing = [k for k in keys if k not in spec]
        if missing:
            raise self.error(path, f"{title}: missing required key {missing[0]!r}")

    def typed(self, path, value, types, what, name=None):
        """``value`` if it is one of ``types`` (booleans are not numbers).

        ``name`` is how the message calls the key (default: its dotted path).
        """
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise self.error(path, f"{name or dotted(path)}: expected {what}, got "
                             f"{kind(value)} {show(value)}")
        return value

    def flag(self, path, value, name=None):
        """``value`` if it is a boolean."""
        return self.typed(path, value, (bool,), "true or false", name)

    def index(self, path, value, what="an HDU index (integer >= 0)"):
        """``value`` if it is an integer >= 0."""
        value = self.typed(path, value, (int,), what)
        if value < 0:
            raise self.error(path, f"{dotted(path)}: expected {what}, got {value}")
        return value

    def resolve(self, value) -> Path:
        """Absolute path of ``value``, relative to the folder of the configuration file."""
        return Path(os.path.abspath(self.folder / Path(value).expanduser()))

    def file(self, path, value, what="file"):
        """Absolute path of an existing file named by ``value`` (relative to the config)."""
        self.typed(path, value, (str,), "a file path (string)")
        full = self.resolve(value)
        if not full.is_file():
            raise self.error(path, f"{dotted(path)}: {what} not found: {full}")
        return full

    def quantity(self, path, value, units, what):
        """A number, or a unit string converted to ``units``."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(path, f"{what}: expected a number or {QUANTITY_EXAMPLE}, got "
                             f"{kind(value)} {show(value)}")
        if not isinstance(value, str):
            return float(value)
        quantity = self._parse_quantity(path, value, what)
        if quantity.unit == u.dimensionless_unscaled:
            return float(quantity.value)  # a number written as a string: the parameter's unit
        try:
            target = u.Unit(units) if units else u.dimensionless_unscaled
        except ValueError:
            raise self.error(path, f"{what}: {value!r} has a unit but the parameter is in "
                             f"{units!r}; give a plain number") from None
        try:
            return float(quantity.to_value(target))
        except u.UnitConversionError:
            raise self.error(path, f"{what}: {value!r} cannot be converted to "
                             f"{units or 'a dimensionless number'}") from None

    def _parse_quantity(self, path, value, what):
        try:
            return u.Quantity(value)
        except (TypeError, ValueError) as err:
            reason = str(err).split(" If this is meant")[0]
            raise self.error(path, f"{what}: cannot read {value!r} as a quantity such as "
                             f"'2 arcsec': {reason}") from None

    def apply(self, path, func, *args):
        """Call ``func(*args)``; its errors become located at ``path``."""
        try:
            func(*args)
        except (IndexError, TypeError, ValueError, OSError) as err:
            raise self.error(path, f"{dotted(path)}: {err}") from None
