"""Fit configuration files, read by ``socca fit CONFIG.toml``.

One TOML file describes a whole fit. Relative paths are taken from the folder
of the configuration file. Every error in the file is a :class:`ConfigError`
whose message is one line naming the file, the line and the key, e.g.
``fit.toml:14: unknown key 'rre' in [[component]] #2 'galaxy' (Sersic); ...``.

Format
------
``[image]``
    ``path`` (required) FITS image; ``hdu`` (0) HDU index; ``subgrid`` (1);
    ``mask`` a DS9 region file, FITS mask map (1 = used) or DS9 region
    string, or a list of them (regions mark pixels to IGNORE);
    ``exposure``, ``response`` FITS maps or numbers;
    ``cutout = {center = [x, y], size = 64}`` with ``center`` in 0-based
    pixels or ``{ra = ..., dec = ...}`` and ``size`` in pixels, ``[ny, nx]``
    or an angle such as ``"30 arcsec"``.
``[psf]`` (optional)
    ``path`` (required), ``hdu`` (0), ``normalize`` (true).
``[noise]`` (optional, default ``Normal`` with the MAD noise level)
    ``model`` a class of :mod:`socca.noise` (``"Normal"``); the other keys are
    its keywords, e.g. ``sigma = 0.05`` or ``weight = "weights.fits"``.
``[[component]]`` (one table per component, in order)
    ``type`` (required) a class of :mod:`socca.models` such as ``"Sersic"``;
    ``name`` (optional) used by ties; ``positive`` (false) rejects negative
    pixels; then one entry per parameter (unset ones keep their defaults):

    - a number: the parameter is fixed;
    - a string with an astropy unit, e.g. ``"1.5 arcsec"``: fixed, converted to
      the parameter's unit (degrees for positions and radii, radians for
      angles);
    - ``{prior = "uniform", low = ..., high = ...}``: free, with a prior of
      :mod:`socca.priors` (``uniform``, ``loguniform``, ``normal``,
      ``splitnormal``, ``powerlaw``, ``logpowerlaw``) whose arguments are the
      other keys; they also accept unit strings (not ``alpha``);
    - ``{boundto = "point", param = "xc"}``: tied to parameter ``param``
      (default: the same name) of the component named ``point``.
``[fit]``
    ``method`` (``"nautilus"``), ``seed``, ``checkpoint`` (a base name,
    relative to the output folder), ``resume`` (true), ``getzprior`` (false),
    ``progress`` (true); ``[fit.options]`` is forwarded to ``fit.run``
    (``nlive = 500``, ...) and its names are checked against the method.
``[output]``
    ``folder`` (``<config name>_output``), ``overwrite`` (false), ``plots``
    (true), ``format`` (``"pdf"``) of the plots.
"""

from __future__ import annotations

import bisect
import difflib
import inspect
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u

SECTIONS = ("image", "psf", "noise", "component", "fit", "output")
IMAGE_KEYS = ("path", "hdu", "subgrid", "mask", "exposure", "response", "cutout")
CUTOUT_KEYS = ("center", "size")
PSF_KEYS = ("path", "hdu", "normalize")
FIT_KEYS = ("method", "seed", "checkpoint", "resume", "getzprior", "progress", "options")
OUTPUT_KEYS = ("folder", "overwrite", "plots", "format")
COMPONENT_KEYS = ("type", "name", "positive")
PRIORS = ("uniform", "loguniform", "normal", "splitnormal", "powerlaw", "logpowerlaw")
PLOT_FORMATS = ("pdf", "png", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff")
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz")
# output products: key -> file name pattern (``{fmt}`` is the plot format)
OUTPUT_FILES = {
    "parameters": "parameters.txt",
    "table": "parameters.csv",
    "model": "model.fits",
    "residual": "residual.fits",
    "fit": "fit.pickle",
    "comparison": "comparison.{fmt}",
    "corner": "corner.{fmt}",
    "bmc": "bmc.txt",
}
# names of the backend functions that check option names without running
_OPTION_CHECKERS = ("_split_options", "_check_options", "_settings")
_RUN_ARGUMENTS = ("problem", "checkpoint", "resume", "seed", "progress", "options")


class ConfigError(ValueError):
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


# --------------------------------------------------------------------------- line numbers


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
            start = self.pos
            if self.text.startswith("[[", start):
                self.pos += 2
                keys = self._key()
                name = (*self._resolve(keys[:-1]), keys[-1])
                index = self._arrays[name] = self._arrays.get(name, -1) + 1
                current = (*name, index)
                self.pos = self.text.index("]]", self.pos) + 2
                self._record(name, start)
                self._record(current, start)
            elif self.text[start] == "[":
                self.pos += 1
                current = self._resolve(self._key())
                self.pos = self.text.index("]", self.pos) + 1
                self._record(current, start)
            else:
                self._pair(current)

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
            c = self.text[self.pos]
            if c in "\"'":
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
            self.pos += 1
            while True:
                self._skip()
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return
                if self.text[self.pos] == ",":
                    self.pos += 1
                    continue
                self._pair(path)
        elif c == "[":
            self.pos += 1
            index = 0
            while True:
                self._skip()
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return
                if self.text[self.pos] == ",":
                    self.pos += 1
                    continue
                self._record((*path, index), self.pos)
                self._value((*path, index))
                index += 1
        elif c in "\"'":
            self._string()
        else:
            end = re.compile(r"[,\]}\n#]").search(self.text, self.pos)
            self.pos = len(self.text) if end is None else end.start()

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


# --------------------------------------------------------------------------- reading helpers


def _choices(names) -> str:
    return ", ".join(str(n) for n in names)


def _suggest(word, names) -> str:
    close = difflib.get_close_matches(str(word), [str(n) for n in names], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value) -> str:
    """The TOML name of a value's type, for messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             dict: "a table", list: "an array"}
    return names.get(type(value), type(value).__name__)


def _dotted(path) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


class _Reader:
    """The parsed file, its key lines and its folder: makes located errors."""

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
        return ConfigError(message, self.shown, self.keys.line(path))

    def table(self, path, value, allowed, title):
        """``value`` checked to be a table whose keys are all in ``allowed``."""
        if not isinstance(value, dict):
            raise self.error(path, f"{_dotted(path)}: expected a table, got {_kind(value)}")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            first = min(unknown, key=lambda k: self.keys.line((*path, k)) or 0)
            raise self.error(
                (*path, first),
                f"unknown key {first!r} in {title}{_suggest(first, allowed)}; "
                f"expected one of: {_choices(allowed)}",
            )
        return value

    def typed(self, path, value, types, what, name=None):
        """``value`` if it is one of ``types`` (booleans are not numbers).

        ``name`` is how the message calls the key (default: its dotted path).
        """
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise self.error(path, f"{name or _dotted(path)}: expected {what}, got "
                             f"{_kind(value)} {_show(value)}")
        return value

    def file(self, path, value, what="file"):
        """Absolute path of an existing file named by ``value`` (relative to the config)."""
        self.typed(path, value, (str,), "a file path (string)")
        full = Path(os.path.abspath(self.folder / Path(value).expanduser()))
        if not full.is_file():
            raise self.error(path, f"{_dotted(path)}: {what} not found: {full}")
        return full


def _show(value) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 40 else text[:37] + "..."


def _index(reader, path, value, what="an HDU index (integer >= 0)"):
    value = reader.typed(path, value, (int,), what)
    if value < 0:
        raise reader.error(path, f"{_dotted(path)}: expected {what}, got {value}")
    return value


def _quantity(reader, path, value, units, what):
    """A number, or a unit string converted to ``units``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise reader.error(path, f"{what}: expected a number or a quantity string such as "
                           f"'2 arcsec', got {_kind(value)} {_show(value)}")
    if not isinstance(value, str):
        return float(value)
    try:
        quantity = u.Quantity(value)
    except (TypeError, ValueError) as err:
        reason = str(err).split(" If this is meant")[0]
        raise reader.error(path, f"{what}: cannot read {value!r} as a quantity such as "
                           f"'2 arcsec': {reason}") from None
    if quantity.unit == u.dimensionless_unscaled:
        return float(quantity.value)  # a number written as a string: the parameter's unit
    try:
        target = u.Unit(units) if units else u.dimensionless_unscaled
    except ValueError:
        raise reader.error(path, f"{what}: {value!r} has a unit but the parameter is in "
                           f"{units!r}; give a plain number") from None
    try:
        return float(quantity.to_value(target))
    except u.UnitConversionError:
        raise reader.error(path, f"{what}: {value!r} cannot be converted to "
                           f"{units or 'a dimensionless number'}") from None


# --------------------------------------------------------------------------- the image


class _Unbound:
    """Stand-in noise model while the image is assembled, so the real one binds once."""

    def bind(self, img):
        """Do nothing."""


def _image(reader):
    from socca.data import Image

    if "image" not in reader.data:
        raise ConfigError("missing [image] section (with the image path)", reader.shown)
    spec = reader.table(("image",), reader.data["image"], IMAGE_KEYS, "[image]")
    if "path" not in spec:
        raise reader.error(("image",), "[image]: missing required key 'path'")
    path = reader.file(("image", "path"), spec["path"], "image file")
    hdu = _index(reader, ("image", "hdu"), spec.get("hdu", 0))
    subgrid = _index(reader, ("image", "subgrid"), spec.get("subgrid", 1), "a positive integer")
    maps = {k: _map(reader, ("image", k), spec[k]) for k in ("exposure", "response") if k in spec}
    try:
        img = Image(str(path), noise=_Unbound(), img_idx=hdu, subgrid=subgrid, **maps)
    except (IndexError, TypeError, ValueError, OSError) as err:
        key = "hdu" if isinstance(err, IndexError) else _blame(str(err), spec, "path")
        raise reader.error(("image", key), f"image.{key}: {err}") from None
    psf = _psf(reader, img)
    if "mask" in spec:
        items = _mask_items(reader, spec["mask"])
        _apply(reader, ("image", "mask"), img.addmask, items)
    if "cutout" in spec:
        center, size = _cutout(reader, spec["cutout"])
        _apply(reader, ("image", "cutout"), img.cutout, center, size)
    noise = _noise(reader)
    _apply(reader, ("noise",), setattr, img, "noise", noise)
    return img, path, psf


def _named(message, keys):
    """The key an error message names: quoted if possible, else as a whole word."""
    quoted = [k for k in keys if repr(k) in message]
    if quoted:
        return quoted[0]
    return next((k for k in keys if re.search(rf"\b{re.escape(k)}\b", message)), None)


def _blame(message, spec, default):
    """The key of ``spec`` that an error message starts with, else ``default``."""
    for key in spec:
        if message.startswith(key):
            return key
    return default


def _apply(reader, path, func, *args):
    try:
        func(*args)
    except (IndexError, TypeError, ValueError, OSError) as err:
        raise reader.error(path, f"{_dotted(path)}: {err}") from None


def _map(reader, path, value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return str(reader.file(path, value, "map"))


def _psf(reader, img):
    if "psf" not in reader.data:
        return None
    spec = reader.table(("psf",), reader.data["psf"], PSF_KEYS, "[psf]")
    if "path" not in spec:
        raise reader.error(("psf",), "[psf]: missing required key 'path'")
    path = reader.file(("psf", "path"), spec["path"], "PSF file")
    hdu = _index(reader, ("psf", "hdu"), spec.get("hdu", 0))
    normalize = reader.typed(("psf", "normalize"), spec.get("normalize", True), (bool,),
                             "true or false")
    try:
        img.addpsf(str(path), normalize=normalize, idx=hdu)
    except (IndexError, TypeError, ValueError, OSError) as err:
        key = "hdu" if isinstance(err, IndexError) else "path"
        raise reader.error(("psf", key), f"psf.{key}: {err}") from None
    return path


def _mask_items(reader, value):
    items = value if isinstance(value, list) else [value]
    paths = [("image", "mask", i) if isinstance(value, list) else ("image", "mask")
             for i in range(len(items))]
    out = []
    for path, item in zip(paths, items, strict=True):
        reader.typed(path, item, (str,), "a region file, FITS mask or DS9 region string")
        full = Path(os.path.abspath(reader.folder / Path(item).expanduser()))
        if full.is_file():
            out.append(str(full))
        elif item.lower().endswith((*FITS_SUFFIXES, ".reg")):
            raise reader.error(path, f"{_dotted(path)}: mask file not found: {full}")
        else:
            out.append(item)  # a DS9 region string
    return out


def _cutout(reader, value):
    from astropy.coordinates import SkyCoord

    path = ("image", "cutout")
    spec = reader.table(path, value, CUTOUT_KEYS, "image.cutout")
    missing = [k for k in CUTOUT_KEYS if k not in spec]
    if missing:
        raise reader.error(path, f"image.cutout: missing required key {missing[0]!r}")
    center = spec["center"]
    where = (*path, "center")
    if isinstance(center, dict):
        reader.table(where, center, ("ra", "dec"), "image.cutout.center")
        if set(center) != {"ra", "dec"}:
            raise reader.error(where, "image.cutout.center: give both ra and dec")
        ra, dec = (_quantity(reader, (*where, k), center[k], "deg", f"image.cutout.center.{k}")
                   for k in ("ra", "dec"))
        center = SkyCoord(ra * u.deg, dec * u.deg)
    elif isinstance(center, list) and len(center) == 2 and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in center
    ):
        center = tuple(float(c) for c in center)
    else:
        raise reader.error(where, "image.cutout.center: expected [x, y] in pixels or "
                           f"{{ra = ..., dec = ...}}, got {_show(center)}")
    return center, _size(reader, (*path, "size"), spec["size"])


def _size(reader, path, value):
    if isinstance(value, list) and len(value) == 2:
        return tuple(_size(reader, (*path, i), v) for i, v in enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _quantity(reader, path, value, "deg", _dotted(path)) * u.deg
    raise reader.error(path, f"{_dotted(path)}: expected pixels (integer), [ny, nx] or an "
                       f"angle such as '30 arcsec', got {_kind(value)} {_show(value)}")


def _noise(reader):
    import socca.noise

    available = [n for n in socca.noise.__all__ if n != "Noise"]
    spec = reader.data.get("noise", {})
    reader.typed(("noise",), spec, (dict,), "a table")
    name = spec.get("model", "Normal")
    reader.typed(("noise", "model"), name, (str,), "a noise model name")
    if name not in available:
        raise reader.error(("noise", "model"), f"noise.model: unknown noise model {name!r}"
                           f"{_suggest(name, available)}; expected one of: {_choices(available)}")
    kwargs = {}
    for key, value in spec.items():
        if key == "model":
            continue
        if isinstance(value, str) and (value.lower().endswith(FITS_SUFFIXES)
                                       or (reader.folder / value).is_file()):
            value = str(reader.file(("noise", key), value, "noise map"))
        kwargs[key] = value
    try:
        return getattr(socca.noise, name)(**kwargs)
    except (TypeError, ValueError, OSError) as err:
        key = _named(str(err), kwargs)
        path = ("noise",) if key is None else ("noise", key)
        raise reader.error(path, f"noise: {err}") from None


# --------------------------------------------------------------------------- the model


def component_types() -> dict:
    """The component classes a configuration may name: ``{name: class}``."""
    import socca.models
    from socca.models import Component, Profile

    out = {}
    for name in socca.models.__all__:
        cls = getattr(socca.models, name)
        if isinstance(cls, type) and issubclass(cls, Component) and cls not in (
            Component, Profile
        ):
            out[name] = cls
    return out


@dataclass
class _Entry:
    """One ``[[component]]`` table while it is being built."""

    index: int
    spec: dict
    component: object
    name: str | None

    @property
    def path(self):
        return ("component", self.index)

    @property
    def title(self):
        named = f" {self.name!r}" if self.name else ""
        return f"[[component]] #{self.index + 1}{named} ({type(self.component).__name__})"

    @property
    def label(self):
        if self.name:
            return f"component {self.name!r}"
        return f"component #{self.index + 1} ({type(self.component).__name__})"


def _model(reader):
    from socca.models import Model

    tables = reader.data.get("component")
    if tables is None:
        raise ConfigError("no [[component]] table: describe at least one model component",
                          reader.shown)
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise reader.error(("component",), "component: expected [[component]] tables")
    entries = [_new_component(reader, i, spec) for i, spec in enumerate(tables)]
    byname = {}
    for entry in entries:
        if entry.name in byname:
            raise reader.error((*entry.path, "name"), f"{entry.label}: the name {entry.name!r} "
                               f"is already used by {byname[entry.name].title}")
        if entry.name:
            byname[entry.name] = entry
    for entry in entries:
        _set_parameters(reader, entry, byname)
    model = Model()
    for entry in entries:
        _apply(reader, entry.path, model.addcomponent, entry.component)
    return model, entries


def _new_component(reader, index, spec):
    types = component_types()
    path = ("component", index)
    kind = spec.get("type")
    if kind is None:
        raise reader.error(path, f"[[component]] #{index + 1}: missing required key 'type'; "
                           f"expected one of: {_choices(types)}")
    reader.typed((*path, "type"), kind, (str,), "a component type name")
    lower = {k.lower(): k for k in types}
    if kind.lower() not in lower:
        raise reader.error((*path, "type"), f"[[component]] #{index + 1}: unknown type "
                           f"{kind!r}{_suggest(kind, types)}; expected one of: {_choices(types)}")
    name = spec.get("name")
    if name is not None:
        reader.typed((*path, "name"), name, (str,), "a name (string)")
        if not name.strip():
            raise reader.error((*path, "name"), f"[[component]] #{index + 1}: empty name")
    return _Entry(index, spec, types[lower[kind.lower()]](), name)


def _flatten(spec, names):
    """Parameter entries of ``spec``, with nested tables of dotted names flattened."""
    out = {}
    for key, value in spec.items():
        prefix = f"{key}."
        if isinstance(value, dict) and any(n.startswith(prefix) for n in names):
            for sub, item in _flatten(value, [n[len(prefix):] for n in names
                                              if n.startswith(prefix)]).items():
                out[(key, *sub)] = item
        else:
            out[(key,)] = value
    return out


def _set_parameters(reader, entry, byname):
    comp = entry.component
    names = comp.parameter_names
    allowed = (*COMPONENT_KEYS, *names)
    flat = _flatten(entry.spec, names)
    unknown = [k for k in flat if ".".join(k) not in allowed]
    if unknown:
        first = min(unknown, key=lambda k: reader.keys.line((*entry.path, *k)) or 0)
        key = ".".join(first)
        raise reader.error((*entry.path, *first), f"unknown key {key!r} in {entry.title}"
                           f"{_suggest(key, allowed)}; expected one of: {_choices(allowed)}")
    if "positive" in entry.spec:
        comp.positive = reader.typed((*entry.path, "positive"), entry.spec["positive"], (bool,),
                                     "true or false", f"{entry.label} positive")
    entries = comp.parameter_entries()
    for keys, value in flat.items():
        name = ".".join(keys)
        if name in COMPONENT_KEYS:
            continue
        path = (*entry.path, *keys)
        what = f"{entry.label} {name}"
        built = _parameter(reader, path, what, value, entries[name].units, byname)
        _apply(reader, path, setattr, comp, name, built)
    missing = [n for n, e in comp.parameter_entries().items() if e.value is None]
    if missing:
        raise reader.error(entry.path, f"{entry.title}: no value for {_choices(missing)}; give "
                           "each a number, a prior table or a boundto table")


def _parameter(reader, path, what, value, units, byname):
    """A fixed value, a prior or a tie for one parameter entry."""
    if not isinstance(value, dict):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise reader.error(path, f"{what}: expected a number, a quantity string such as "
                               "'2 arcsec', a prior table {prior = ...} or a tie "
                               f"{{boundto = ...}}, got {_kind(value)} {_show(value)}")
        return _quantity(reader, path, value, units, what)
    if ("prior" in value) == ("boundto" in value):
        raise reader.error(path, f"{what}: a parameter table needs exactly one of 'prior' "
                           f"(a free parameter) or 'boundto' (a tie), got keys "
                           f"{_choices(value) or 'none'}")
    if "boundto" in value:
        return _tie(reader, path, what, value, byname)
    return _prior(reader, path, what, value, units)


def _prior(reader, path, what, spec, units):
    from socca import priors

    name = reader.typed((*path, "prior"), spec["prior"], (str,), "a prior name", what)
    if name.lower() not in PRIORS:
        raise reader.error((*path, "prior"), f"{what}: unknown prior {name!r}"
                           f"{_suggest(name.lower(), PRIORS)}; expected one of: "
                           f"{_choices(PRIORS)}")
    factory = getattr(priors, name.lower())
    arguments = tuple(inspect.signature(factory).parameters)
    unknown = [k for k in spec if k != "prior" and k not in arguments]
    if unknown:
        raise reader.error((*path, unknown[0]), f"{what}: unknown argument {unknown[0]!r} of "
                           f"prior {name!r}; expected: {_choices(arguments)}")
    missing = [k for k in arguments if k not in spec]
    if missing:
        raise reader.error(path, f"{what}: prior {name!r} needs {_choices(arguments)}; "
                           f"missing {_choices(missing)}")
    kwargs = {
        k: _quantity(reader, (*path, k), spec[k], "" if k == "alpha" else units, f"{what} {k}")
        for k in arguments
    }
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as err:
        raise reader.error(path, f"{what}: {err}") from None


def _tie(reader, path, what, spec, byname):
    from socca import priors

    unknown = [k for k in spec if k not in ("boundto", "param")]
    if unknown:
        raise reader.error((*path, unknown[0]), f"{what}: unknown key {unknown[0]!r} in a tie; "
                           "expected boundto and optionally param")
    target = reader.typed((*path, "boundto"), spec["boundto"], (str,), "a component name", what)
    if target not in byname:
        known = _choices(byname) or "none (give components a name = ... key)"
        raise reader.error((*path, "boundto"), f"{what}: boundto {target!r}: no component "
                           f"named {target!r}{_suggest(target, byname)}; named components: "
                           f"{known}")
    param = spec.get("param", path[-1])
    reader.typed((*path, "param"), param, (str,), "a parameter name", what)
    try:
        return priors.boundto(byname[target].component, param)
    except ValueError as err:
        raise reader.error((*path, "param") if "param" in spec else path,
                           f"{what}: {err}") from None


# --------------------------------------------------------------------------- fit and output


def _fit_settings(reader):
    from socca.inference.backends import METHODS, get_backend

    spec = reader.table(("fit",), reader.data.get("fit", {}), FIT_KEYS, "[fit]")
    method = reader.typed(("fit", "method"), spec.get("method", "nautilus"), (str,),
                          "a method name")
    if method.lower() not in METHODS:
        raise reader.error(("fit", "method"), f"fit.method: unknown method {method!r}"
                           f"{_suggest(method.lower(), METHODS)}; expected one of: "
                           f"{_choices(METHODS)}")
    method = method.lower()
    backend = get_backend(method)
    run = {}
    if "seed" in spec:
        run["seed"] = _index(reader, ("fit", "seed"), spec["seed"], "a seed (integer >= 0)")
    for key in ("resume", "getzprior", "progress"):
        if key in spec:
            run[key] = reader.typed(("fit", key), spec[key], (bool,), "true or false")
    if "checkpoint" in spec:
        run["checkpoint"] = reader.typed(("fit", "checkpoint"), spec["checkpoint"], (str,),
                                         "a checkpoint name (string)")
        if backend.CHECKPOINT is None:
            raise reader.error(("fit", "checkpoint"), f"fit.checkpoint: method {method!r} "
                               "keeps no checkpoint; remove the key")
    if run.get("getzprior") and not backend.EVIDENCE:
        raise reader.error(("fit", "getzprior"), f"fit.getzprior: method {method!r} computes "
                           "no evidence; use nautilus, dynesty or pocomc")
    options = reader.typed(("fit", "options"), spec.get("options", {}), (dict,), "a table")
    misplaced = [k for k in options if k in FIT_KEYS]
    if misplaced:
        key = misplaced[0]
        raise reader.error(("fit", "options", key), f"fit.options.{key}: {key} is a key of "
                           "[fit], not of [fit.options]; move it there")
    _check_options(reader, backend, method, options)
    return method, run, dict(options)


def _check_options(reader, backend, method, options):
    """Check the option names with the backend's own checker, before any sampling."""
    explicit = set(inspect.signature(backend.run).parameters) - set(_RUN_ARGUMENTS)
    rest = {k: v for k, v in options.items() if k not in explicit}
    checker = next((getattr(backend, n) for n in _OPTION_CHECKERS if hasattr(backend, n)), None)
    if checker is None:
        return
    try:
        checker(rest)
    except (TypeError, ValueError) as err:
        key = _named(str(err), options)
        path = ("fit", "options") if key is None else ("fit", "options", key)
        raise reader.error(path, f"fit.options ({method}): {err}") from None


def _output(reader):
    spec = reader.table(("output",), reader.data.get("output", {}), OUTPUT_KEYS, "[output]")
    folder = reader.typed(("output", "folder"), spec.get("folder", f"{reader.path.stem}_output"),
                          (str,), "a folder path (string)")
    folder = Path(os.path.abspath(reader.folder / Path(folder).expanduser()))
    if folder.exists() and not folder.is_dir():
        raise reader.error(("output", "folder"), f"output.folder: {folder} is not a folder")
    overwrite = reader.typed(("output", "overwrite"), spec.get("overwrite", False), (bool,),
                             "true or false")
    plots = reader.typed(("output", "plots"), spec.get("plots", True), (bool,), "true or false")
    fmt = reader.typed(("output", "format"), spec.get("format", "pdf"), (str,), "a file format")
    if fmt.lower() not in PLOT_FORMATS:
        raise reader.error(("output", "format"), f"output.format: unknown plot format {fmt!r}; "
                           f"expected one of: {_choices(PLOT_FORMATS)}")
    return folder, overwrite, plots, fmt.lower()


# --------------------------------------------------------------------------- public interface


@dataclass
class FitConfig:
    """Everything a configuration file describes, built and validated.

    Attributes
    ----------
    path : pathlib.Path
        The configuration file.
    image : socca.data.Image
        The image, with PSF, mask, cutout and bound noise model.
    model : socca.models.Model
        The model, components in file order.
    fitter : socca.fitter
        The fitter of ``model`` on ``image`` (built, not run).
    names : list of str or None
        The ``name`` of each component, in order.
    method : str
        The inference method.
    run : dict
        ``seed``, ``checkpoint``, ``resume``, ``getzprior``, ``progress`` as given
        (the checkpoint made absolute, inside the output folder).
    options : dict
        ``[fit.options]``, forwarded to ``fit.run``.
    folder : pathlib.Path
        The output folder.
    overwrite : bool
        Whether files of an earlier run may be replaced.
    plots : bool
        Whether to draw the comparison and corner plots.
    format : str
        Their file format.
    image_path, psf_path : pathlib.Path or None
        The files read.
    reader : object
        The parsed file and its key lines, for :meth:`error`.
    """

    path: Path
    image: object
    model: object
    fitter: object
    names: list
    method: str
    run: dict
    options: dict
    folder: Path
    overwrite: bool
    plots: bool
    format: str
    image_path: Path
    psf_path: Path | None = None
    reader: object = None

    def error(self, path, message) -> ConfigError:
        """A :class:`ConfigError` located at key ``path``, e.g. ``("output", "folder")``."""
        return self.reader.error(path, message)

    def outputs(self) -> dict:
        """The files a run writes: ``{key: path}`` (see ``OUTPUT_FILES``)."""
        out = {k: self.folder / v.format(fmt=self.format) for k, v in OUTPUT_FILES.items()}
        if not self.plots:
            del out["comparison"], out["corner"]
        if not self.run.get("getzprior"):
            del out["bmc"]
        return out

    def summary(self) -> str:
        """A few lines describing the fit, printed by ``socca fit``."""
        img = self.image
        comps = ", ".join(
            f"{c.id}" + (f" {n!r}" if n else "") + f" ({type(c).__name__})"
            for c, n in zip(self.model.components, self.names, strict=True)
        )
        labels = self.fitter.labels
        psf = "none" if self.psf_path is None else str(self.psf_path)
        settings = [f"{k}={v!r}" for k, v in self.run.items()]
        settings += [f"{k}={v!r}" for k, v in self.options.items()]
        level = getattr(img.noise, "noise_level", None)
        lines = [
            f"image      : {self.image_path} ({img.shape[0]} x {img.shape[1]} pixels, "
            f"{int(img.mask.sum())} used)",
            f"psf        : {psf}",
            f"noise      : {img.noise!r}" + (f" (sigma {level:.2E})" if level else ""),
            f"components : {comps}",
            f"free ({len(labels)})   : {', '.join(labels)}",
            f"method     : {self.method}" + (f" ({', '.join(settings)})" if settings else ""),
            f"output     : {self.folder}",
        ]
        return "\n".join("  " + line for line in lines)


def load(path) -> FitConfig:
    """Read, validate and build the fit described by a configuration file.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.

    Returns
    -------
    FitConfig
        The image, model, fitter (not run) and run settings.

    Raises
    ------
    ConfigError
        For any error in the file, with its line and key.
    """
    import socca

    reader = _Reader(path)
    reader.table((), reader.data, SECTIONS, "the file (top level)")
    method, run, options = _fit_settings(reader)
    folder, overwrite, plots, fmt = _output(reader)
    if "checkpoint" in run:
        run["checkpoint"] = str(folder / run["checkpoint"])
    img, image_path, psf_path = _image(reader)
    model, entries = _model(reader)
    try:
        fit = socca.fitter(mod=model, img=img)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid model: {err}", reader.shown) from None
    return FitConfig(
        path=reader.path,
        image=img,
        model=model,
        fitter=fit,
        names=[e.name for e in entries],
        method=method,
        run=run,
        options=options,
        folder=folder,
        overwrite=overwrite,
        plots=plots,
        format=fmt,
        image_path=image_path,
        psf_path=psf_path,
        reader=reader,
    )
