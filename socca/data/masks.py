"""Pixel masks from DS9 regions, arrays and FITS maps.

Convention (the image's): a mask is a boolean array, ``True`` (1) where the
pixel is used in the fit and ``False`` (0) where it is ignored.

- Arrays and FITS maps follow that convention: 1 = used, 0 = ignored.
- DS9 regions mark pixels to IGNORE (the usual use of a region file is to cut
  out contaminating sources). A file or string with several regions ignores the
  pixels inside the DS9 region it describes: the union of its ordinary regions,
  minus the pixels inside regions carrying DS9's exclude flag (a leading ``-``,
  e.g. ``-circle(...)``), which stay in use. A pixel is inside a region when its
  centre is.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from regions import Region, Regions, SkyRegion

from socca.data.io import is_array_like, read_hdu
from socca.errors import InputError, InputTypeError, MissingFileError

_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz")


def _describe(item) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."


def _parse_regions(item) -> Regions:
    """Regions from a DS9 file path or a DS9 region string."""
    path = os.fspath(item)
    try:
        if os.path.exists(path):
            regs = Regions.read(path, format="ds9")
        else:
            regs = Regions.parse(path, format="ds9")
    except Exception as exc:  # the regions parser raises several exception types
        raise InputError(f"regions: could not parse DS9 regions from {_describe(item)}: {exc}") \
            from exc
    if len(regs) == 0:
        raise InputError(
            f"regions: no region found in {_describe(item)} (a DS9 region needs a coordinate "
            "system such as 'fk5;', 'icrs;' or 'image;' before the shape)"
        )
    return regs


def _inside(region: Region, wcs: WCS, shape) -> np.ndarray:
    """Boolean array, True for pixels whose centre lies inside ``region``."""
    pix = region.to_pixel(wcs) if isinstance(region, SkyRegion) else region
    try:
        rmask = pix.to_mask(mode="center")
    except NotImplementedError:
        raise InputError(
            f"regions: a {type(region).__name__} has no area and cannot mask pixels"
        ) from None
    image = rmask.to_image(tuple(shape))
    if image is None:  # the region does not overlap the image
        return np.zeros(shape, dtype=bool)
    return image > 0


def region_mask(regions, wcs: WCS, shape) -> np.ndarray:
    """Use-mask (True = used) from DS9 regions, which mark pixels to ignore.

    Parameters
    ----------
    regions : Regions, Region or iterable of Region
        Parsed regions; sky regions are converted to pixels with ``wcs``.
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    shape : tuple of int
        Image shape ``(ny, nx)``.

    Returns
    -------
    numpy.ndarray
        Boolean array, False inside the (include minus exclude) regions.
    """
    if isinstance(regions, Region):
        regions = [regions]
    included = np.zeros(shape, dtype=bool)
    excluded = np.zeros(shape, dtype=bool)
    for region in regions:
        keep = region.meta.get("include", True)
        target = included if keep else excluded
        target |= _inside(region, wcs, shape)
    return ~(included & ~excluded)


def array_mask(values, shape, what: str = "mask") -> np.ndarray:
    """Validate a boolean or 0/1 array of ``shape`` and return it as bool (True = used)."""
    arr = np.asarray(values)
    if arr.shape != tuple(shape):
        raise InputError(f"{what}: shape {arr.shape} does not match the image shape {tuple(shape)}")
    if arr.dtype == bool:
        return arr.copy()
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{what}: expected a boolean or 0/1 array, got dtype {arr.dtype}")
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        shown = np.unique(arr[bad])[:5]
        raise InputError(
            f"{what}: expected only 0/1 values, found {int(bad.sum())} other pixels "
            f"(e.g. {', '.join(repr(v.item()) for v in shown)})"
        )
    return arr == 1


def hdu_mask(hdu, wcs: WCS, shape) -> np.ndarray:
    """Use-mask from a FITS map (1 = used), reprojected onto the image WCS.

    The map is sampled at the image pixel centres by nearest-neighbour
    interpolation; image pixels outside the map count as 0 (ignored). A map
    without a celestial WCS is taken as is and must have the image shape.

    Parameters
    ----------
    hdu : PrimaryHDU or ImageHDU
        The mask map.
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    shape : tuple of int
        Image shape ``(ny, nx)``.

    Returns
    -------
    numpy.ndarray
        Boolean use-mask of ``shape``.
    """
    data = np.asarray(hdu.data)
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise InputError(f"mask: expected a 2-D FITS map, got data of shape {data.shape}")
    values = array_mask(data, data.shape, what="mask (FITS map)").astype(np.float64)
    try:
        mwcs = WCS(hdu.header).celestial
    except Exception:  # malformed WCS keywords: treat as a plain array
        mwcs = None
    if mwcs is None or not mwcs.has_celestial:
        return array_mask(values, shape, what="mask (FITS map without WCS)")
    if data.shape == tuple(shape) and mwcs.wcs.compare(wcs.wcs, tolerance=1e-12):
        return values == 1
    from reproject import reproject_interp  # slow import, needed only here

    out, footprint = reproject_interp(
        (values, mwcs), wcs, shape_out=tuple(shape), order="nearest-neighbor"
    )
    return (footprint > 0) & (np.nan_to_num(out, nan=0.0) >= 0.5)


def _is_array(item) -> bool:
    """An array of any kind (numpy, JAX, ...); a lone number is no mask."""
    return is_array_like(item) and not isinstance(item, numbers.Number | np.generic)


def _is_fits_path(item) -> bool:
    return os.fspath(item).lower().endswith(_FITS_SUFFIXES)


def item_mask(item, wcs: WCS, shape) -> np.ndarray:
    """Use-mask (True = used) of one mask item.

    Parameters
    ----------
    item : str, os.PathLike, Region, Regions, array, HDU or HDUList
        A DS9 region file or string, parsed regions, a boolean/0-1 array
        (numpy, JAX or anything else numpy converts), or a FITS map (path, HDU
        or HDU list, first HDU used).
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    shape : tuple of int
        Image shape ``(ny, nx)``.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``shape``.
    """
    if isinstance(item, Region | Regions):
        return region_mask(item, wcs, shape)
    if isinstance(item, fits.HDUList | fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU):
        return hdu_mask(read_hdu(item, what="mask"), wcs, shape)
    if isinstance(item, list) or _is_array(item):  # after HDUList, which is a list too
        return array_mask(item, shape)
    if isinstance(item, str | os.PathLike):
        if _is_fits_path(item):
            return hdu_mask(read_hdu(item, what="mask"), wcs, shape)
        path = os.fspath(item)
        if path.lower().endswith(".reg") and not os.path.exists(path):
            raise MissingFileError(f"regions: region file {path!r} does not exist")
        return region_mask(_parse_regions(item), wcs, shape)
    raise InputTypeError(
        f"regions: expected a DS9 region file or string, a boolean/0-1 array or a FITS map, "
        f"got {type(item).__name__}"
    )


def build_mask(regions, wcs: WCS, shape) -> np.ndarray:
    """Use-mask from one mask item or a list of them (a pixel is used if all items use it).

    Parameters
    ----------
    regions : item or list of items
        See :func:`item_mask`. A ``list`` of numbers is read as one array mask
        only when it is 2-D; use a numpy array to be unambiguous.
    wcs : astropy.wcs.WCS
        Celestial WCS of the image.
    shape : tuple of int
        Image shape ``(ny, nx)``.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``shape``.
    """
    is_list = isinstance(regions, list | tuple) and not isinstance(regions, fits.HDUList)
    if is_list and not _is_nested_numbers(regions):
        items = list(regions)
        if not items:
            raise InputError("regions: got an empty list; expected at least one mask item")
    else:
        items = [regions]
    mask = np.ones(shape, dtype=bool)
    for item in items:
        mask &= item_mask(item, wcs, shape)
    return mask


def _is_nested_numbers(seq) -> bool:
    """True for a list of lists of numbers (a 2-D array written as lists)."""
    return bool(seq) and all(
        isinstance(row, list | tuple) and all(np.isscalar(v) for v in row) for row in seq
    )
