"""The ``[image]``, ``[psf]`` and ``[noise]`` sections: the image to fit, ready to use."""

from __future__ import annotations

import astropy.units as u

from socca.config.errors import dotted, kind, named, show, unknown

IMAGE_KEYS = ("path", "hdu", "subgrid", "mask", "exposure", "response", "cutout")
CUTOUT_KEYS = ("center", "size")
PSF_KEYS = ("path", "hdu", "normalize")
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz")


class _Unbound:
    """Stand-in noise model while the image is assembled, so the real one binds once."""

    def bind(self, img):
        """Do nothing."""


def build_image(reader):
    """The image of the file, with its PSF, mask, cutout and bound noise model.

    Parameters
    ----------
    reader : socca.config.reader.Reader
        The parsed configuration file.

    Returns
    -------
    img : socca.data.Image
        The image.
    path : pathlib.Path
        The image file.
    psf : pathlib.Path or None
        The PSF file, if any.

    Raises
    ------
    ConfigError
        For any error in ``[image]``, ``[psf]`` or ``[noise]``.
    """
    if "image" not in reader.data:
        raise reader.error((), "missing [image] section (with the image path)")
    spec = reader.table(("image",), reader.data["image"], IMAGE_KEYS, "[image]")
    img, path = _open(reader, spec)
    psf = _psf(reader, img)
    if "mask" in spec:
        reader.apply(("image", "mask"), img.addmask, _mask_items(reader, spec["mask"]))
    if "cutout" in spec:
        reader.apply(("image", "cutout"), img.cutout, *_cutout(reader, spec["cutout"]))
    reader.apply(("noise",), setattr, img, "noise", _noise(reader))
    return img, path, psf


def _open(reader, spec):
    """The :class:`~socca.data.Image` of ``[image]`` (no PSF, mask or noise yet), and its file."""
    from socca.data import Image

    reader.require(("image",), spec, ("path",), "[image]")
    path = reader.file(("image", "path"), spec["path"], "image file")
    hdu = reader.index(("image", "hdu"), spec.get("hdu", 0))
    subgrid = reader.index(("image", "subgrid"), spec.get("subgrid", 1), "a positive integer")
    maps = {k: _map(reader, ("image", k), spec[k]) for k in ("exposure", "response") if k in spec}
    try:
        img = Image(str(path), noise=_Unbound(), img_idx=hdu, subgrid=subgrid, **maps)
    except (IndexError, TypeError, ValueError, OSError) as err:
        raise _file_error(reader, "image", err, spec) from None
    return img, path


def _file_error(reader, section, err, keys=()):
    """The error of reading a FITS file: blames ``hdu``, a key an error starts with, or ``path``."""
    key = "hdu" if isinstance(err, IndexError) else _blame(str(err), keys, "path")
    return reader.error((section, key), f"{section}.{key}: {err}")


def _blame(message, keys, default):
    """The key of ``keys`` that an error message starts with, else ``default``."""
    for key in keys:
        if message.startswith(key):
            return key
    return default


def _map(reader, path, value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return str(reader.file(path, value, "map"))


def _psf(reader, img):
    """Add the PSF of ``[psf]`` to ``img``; its file, or None without a ``[psf]``."""
    if "psf" not in reader.data:
        return None
    spec = reader.table(("psf",), reader.data["psf"], PSF_KEYS, "[psf]")
    reader.require(("psf",), spec, ("path",), "[psf]")
    path = reader.file(("psf", "path"), spec["path"], "PSF file")
    hdu = reader.index(("psf", "hdu"), spec.get("hdu", 0))
    normalize = reader.flag(("psf", "normalize"), spec.get("normalize", True))
    try:
        img.addpsf(str(path), normalize=normalize, idx=hdu)
    except (IndexError, TypeError, ValueError, OSError) as err:
        raise _file_error(reader, "psf", err) from None
    return path


def _mask_items(reader, value):
    """Mask files (made absolute) and DS9 region strings of ``image.mask``."""
    items = value if isinstance(value, list) else [value]
    paths = [("image", "mask", i) if isinstance(value, list) else ("image", "mask")
             for i in range(len(items))]
    out = []
    for path, item in zip(paths, items, strict=True):
        reader.typed(path, item, (str,), "a region file, FITS mask or DS9 region string")
        full = reader.resolve(item)
        if full.is_file():
            out.append(str(full))
        elif item.lower().endswith((*FITS_SUFFIXES, ".reg")):
            raise reader.error(path, f"{dotted(path)}: mask file not found: {full}")
        else:
            out.append(item)  # a DS9 region string
    return out


def _cutout(reader, value):
    """The ``center`` and ``size`` arguments of :meth:`socca.data.Image.cutout`."""
    path = ("image", "cutout")
    spec = reader.table(path, value, CUTOUT_KEYS, "image.cutout")
    reader.require(path, spec, CUTOUT_KEYS, "image.cutout")
    center = _center(reader, (*path, "center"), spec["center"])
    return center, _size(reader, (*path, "size"), spec["size"])


def _center(reader, path, value):
    """``[x, y]`` in pixels, or ``{ra = ..., dec = ...}`` as a sky position."""
    from astropy.coordinates import SkyCoord

    if isinstance(value, dict):
        reader.table(path, value, ("ra", "dec"), "image.cutout.center")
        if set(value) != {"ra", "dec"}:
            raise reader.error(path, "image.cutout.center: give both ra and dec")
        ra, dec = (reader.quantity((*path, k), value[k], "deg", f"image.cutout.center.{k}")
                   for k in ("ra", "dec"))
        return SkyCoord(ra * u.deg, dec * u.deg)
    if isinstance(value, list) and len(value) == 2 and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in value
    ):
        return tuple(float(c) for c in value)
    raise reader.error(path, "image.cutout.center: expected [x, y] in pixels or "
                       f"{{ra = ..., dec = ...}}, got {show(value)}")


def _size(reader, path, value):
    """Pixels, ``[ny, nx]`` or an angle."""
    if isinstance(value, list) and len(value) == 2:
        return tuple(_size(reader, (*path, i), v) for i, v in enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return reader.quantity(path, value, "deg", dotted(path)) * u.deg
    raise reader.error(path, f"{dotted(path)}: expected pixels (integer), [ny, nx] or an "
                       f"angle such as '30 arcsec', got {kind(value)} {show(value)}")


def _noise(reader):
    """The noise model of ``[noise]`` (default ``Normal()``), not yet bound to the image."""
    import socca.noise

    available = [n for n in socca.noise.__all__ if n != "Noise"]
    spec = reader.typed(("noise",), reader.data.get("noise", {}), (dict,), "a table")
    name = reader.typed(("noise", "model"), spec.get("model", "Normal"), (str,),
                        "a noise model name")
    if name not in available:
        raise reader.error(("noise", "model"),
                           f"noise.model: {unknown('noise model', name, available)}")
    kwargs = _noise_keywords(reader, spec)
    try:
        return getattr(socca.noise, name)(**kwargs)
    except (TypeError, ValueError, OSError) as err:
        key = named(str(err), kwargs)
        path = ("noise",) if key is None else ("noise", key)
        raise reader.error(path, f"noise: {err}") from None


def _noise_keywords(reader, spec):
    """The keywords of the noise model; strings naming files become absolute paths."""
    kwargs = {}
    for key, value in spec.items():
        if key == "model":
            continue
        if isinstance(value, str) and (value.lower().endswith(FITS_SUFFIXES)
                                       or (reader.folder / value).is_file()):
            value = str(reader.file(("noise", key), value, "noise map"))
        kwargs[key] = value
    return kwargs
