"""The image to fit: data, WCS, coordinate grid, mask, PSF, exposure, response, noise."""

from __future__ import annotations

import numbers
import os
import re

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from socca.data.grid import Grid, check_subgrid
from socca.data.io import as_float_array, read_array, read_hdu
from socca.data.masks import build_mask
from socca.data.psf import (
    centre_offset,
    check_normalizable,
    kernel_extent,
    prepare_psf,
    read_kernel,
)
from socca.datasets import missing_hint
from socca.errors import InputError, InputTypeError, MissingFileError

# Header keywords describing the WCS axes; replaced when the WCS is rewritten
# (e.g. a CD matrix must not survive next to the PC matrix of a cutout WCS).
_WCS_KEYWORD = re.compile(
    r"^(WCSAXES|LONPOLE|LATPOLE|(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)\d+"
    r"|(CD|PC|PV|PS)\d+_\d+)$"
)


def _squeeze(arr: np.ndarray) -> np.ndarray:
    """Drop length-1 leading axes (degenerate frequency/Stokes axes of radio cubes)."""
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def _header_with_wcs(header: fits.Header, wcs: WCS) -> fits.Header:
    """Copy of ``header`` whose WCS keywords describe ``wcs`` only."""
    out = header.copy()
    for key in [k for k in out if _WCS_KEYWORD.match(k)]:
        out.remove(key, ignore_missing=True, remove_all=True)
    out.update(wcs.to_header())
    return out


def _celestial(header: fits.Header, ndim: int) -> tuple[WCS, int]:
    """Celestial WCS of an image header and the header's WCS axis count."""
    try:
        full = WCS(header)
    except Exception as exc:  # astropy raises several types for malformed WCS keywords
        raise InputError(f"img: could not read a WCS from the image header: {exc}") from exc
    if not full.has_celestial:
        ctypes = [header.get(f"CTYPE{i}") for i in range(1, max(ndim, 2) + 1)]
        raise InputError(
            "img: the image has no celestial WCS: expected CTYPE1/CTYPE2 such as "
            f"'RA---TAN'/'DEC--TAN' (with CRVAL, CRPIX, CDELT or CD), got CTYPE {ctypes!r}"
        )
    if sorted((full.wcs.lng, full.wcs.lat)) != [0, 1]:
        raise InputError(
            "img: the celestial axes must be the first two FITS axes, got CTYPE "
            f"{list(full.wcs.ctype)!r}"
        )
    return full.celestial, full.naxis


def _options(value, name: str, first: str, allowed: tuple[str, ...]) -> dict | None:
    """Keyword dict for a constructor shortcut (``addpsf=``, ``addmask=``)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return {first: value}
    unknown = sorted(set(value) - set(allowed))
    if unknown or first not in value:
        raise InputError(
            f"{name}: expected a dict with key {first!r} and optional "
            f"{', '.join(repr(a) for a in allowed if a != first)}, got keys {sorted(value)!r}"
        )
    return value


def _require_files(**sources) -> None:
    """Raise one :class:`MissingFileError` naming every FITS path in ``sources`` that is missing.

    The constructor reads the PSF before the image; without this check a user
    with neither file would hear only about the PSF.
    """
    missing = [
        (what, os.fspath(src)) for what, src in sources.items()
        if isinstance(src, str | os.PathLike) and not os.path.exists(src)
    ]
    hint = missing_hint(*(path for _, path in missing))
    if len(missing) == 1:
        ((what, path),) = missing
        raise MissingFileError(f"{what}: FITS file {path!r} does not exist{hint}")
    if missing:
        listed = "; ".join(f"{what}: {path!r}" for what, path in missing)
        raise MissingFileError(f"{len(missing)} FITS files do not exist: {listed}{hint}")


def _check_noise(noise):
    if not callable(getattr(noise, "bind", None)):
        raise InputTypeError(
            f"noise: expected a noise model with a bind(img) method (e.g. socca.noise.Normal()), "
            f"got {type(noise).__name__}"
        )
    return noise


def _check_size(csize):
    """Validate a cutout size: int, (ny, nx), angular/pixel Quantity or a pair of them."""
    def ok(v):
        if isinstance(v, u.Quantity):
            return v.isscalar and v.value > 0 and (
                v.unit.physical_type == "angle" or v.unit == u.pixel)
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0

    if isinstance(csize, u.Quantity) and not csize.isscalar:
        csize = tuple(csize)
    if ok(csize) or (isinstance(csize, tuple | list) and len(csize) == 2 and all(map(ok, csize))):
        return tuple(csize) if isinstance(csize, list) else csize
    raise InputError(
        f"csize: expected a positive int (pixels), a (ny, nx) pair of them, or an angular "
        f"Quantity (or pair of them), got {csize!r}"
    )


class Image:
    """An image to fit, with its WCS, coordinate grid, mask, PSF and noise model.

    Parameters
    ----------
    img : str, os.PathLike, PrimaryHDU, ImageHDU or HDUList
        The image: a FITS path or an HDU/HDU list. Its header must carry a
        celestial WCS; length-1 leading axes (radio cubes) are dropped.
    noise : noise model, optional
        Object with a ``bind(img)`` method; default ``socca.noise.Normal()``.
    img_idx : int
        HDU to read from a file or an HDU list.
    subgrid : int
        Each pixel is sampled on a ``subgrid x subgrid`` lattice.
    exposure, response : str, HDU, HDUList, array or float, optional
        Maps of the image shape (default ones): the response multiplies the
        model before PSF convolution, the exposure after. Finite and >= 0.
    addpsf : dict or PSF source, optional
        Arguments of :meth:`addpsf` (``dict(img=..., normalize=..., idx=...)``),
        or the PSF itself.
    addmask : dict or mask items, optional
        Arguments of :meth:`addmask` (``dict(regions=..., combine=...)``), or the
        mask items themselves. Applied before any cutout, to the full image.
    center, csize : optional
        Arguments of :meth:`cutout`; give both or neither.

    Attributes
    ----------
    hdu : PrimaryHDU or ImageHDU
        Header and data, updated by :meth:`cutout`.
    data : numpy.ndarray
        Float64 copy of the data, non-finite pixels set to 0.
    wcs : astropy.wcs.WCS
        Celestial WCS.
    shape : tuple of int
        ``(ny, nx)``.
    mask : numpy.ndarray
        Boolean, True where the pixel is used; non-finite pixels are False.
    psf : numpy.ndarray or None
        PSF placed on the image (see :meth:`addpsf`).
    psf_extent : tuple of int or None
        ``(hy, hx)``: largest distance in pixels from the PSF centre to a non-zero
        PSF pixel, for sizing the zero-padded FFT.
    exposure, response : numpy.ndarray
        Float64 maps of ``shape``.
    subgrid : int
        Sub-pixels per pixel along each axis.
    grid : Grid
        Coordinates of the (sub-)pixel centres.
    noise : noise model
        Bound to the image whenever data or mask change (and the PSF, for
        models whose ``uses_psf`` is True); assigning a new one binds it.
    """

    def __init__(self, img, noise=None, img_idx=0, subgrid=1, exposure=None, response=None,
                 addpsf=None, addmask=None, center=None, csize=None):
        self.subgrid = check_subgrid(subgrid)
        if (center is None) != (csize is None):
            raise InputError(
                f"center, csize: give both for a cutout or neither, got center={center!r}, "
                f"csize={csize!r}"
            )
        psf_kw = _options(addpsf, "addpsf", "img", ("img", "normalize", "idx"))
        mask_kw = _options(addmask, "addmask", "regions", ("regions", "combine"))
        if csize is not None:
            csize = _check_size(csize)
        if noise is None:
            from socca.noise import Normal

            noise = Normal()
        self._noise = _check_noise(noise)
        _require_files(img=img, psf=None if psf_kw is None else psf_kw["img"],
                       exposure=exposure, response=response)

        self.psf = self.psf_extent = self._psf_kernel = None
        self._psf_normalize = True
        if psf_kw is not None:
            self._psf_kernel = read_kernel(psf_kw["img"], idx=psf_kw.get("idx", 0))
            self._psf_normalize = bool(psf_kw.get("normalize", True))
            check_normalizable(self._psf_kernel, self._psf_normalize)

        self._load(read_hdu(img, idx=img_idx, what="img"))
        self.exposure = self._read_map(exposure, "exposure")
        self.response = self._read_map(response, "response")
        if mask_kw is not None:
            self._set_mask(mask_kw["regions"], mask_kw.get("combine", True))
        if center is not None:
            self._cut(center, csize)
        else:
            self.grid = Grid(self.wcs, self.shape, self.subgrid)
        self._place_psf()
        self._noise.bind(self)

    @classmethod
    def load(cls, path, **kwargs) -> Image:
        """Build an :class:`Image` from a FITS path (or HDU); same arguments as the constructor."""
        return cls(path, **kwargs)

    # -- construction helpers -------------------------------------------------

    def _load(self, hdu) -> None:
        if hdu.data is None:
            raise InputError("img: the HDU holds no data")
        raw = _squeeze(np.asarray(hdu.data))
        if raw.ndim != 2:  # before reading the WCS, which astropy fails to cut to fewer axes
            raise InputError(
                f"img: expected 2-D image data (length-1 leading axes allowed), "
                f"got shape {np.shape(hdu.data)}"
            )
        self.wcs, naxis = _celestial(hdu.header, np.ndim(hdu.data))
        if raw.size == 0:
            raise InputError(f"img: the image is empty (shape {raw.shape}); expected pixels")
        data = as_float_array(raw, "img")
        finite = np.isfinite(data)
        if not finite.any():
            raise InputError(f"img: all {data.size} pixels are NaN or inf")
        header = hdu.header
        if naxis != 2 or np.ndim(hdu.data) != 2:
            header = _header_with_wcs(header, self.wcs)
        kind = fits.PrimaryHDU if isinstance(hdu, fits.PrimaryHDU) else fits.ImageHDU
        self.hdu = kind(data=raw, header=header.copy())
        self.data = np.where(finite, data, 0.0)
        self._finite = finite
        self.mask = finite.copy()
        self.shape = data.shape

    def _read_map(self, source, name: str) -> np.ndarray:
        """Exposure or response map: ones by default, validated otherwise."""
        if source is None:
            return np.ones(self.shape, dtype=np.float64)
        values, _ = read_array(source, what=name)
        values = _squeeze(values)
        if values.ndim == 0:
            values = np.full(self.shape, float(values))
        if values.shape != self.shape:
            raise InputError(
                f"{name}: map shape {values.shape} does not match the image shape {self.shape}"
            )
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            raise InputError(f"{name}: {bad} pixels are NaN or inf; expected finite values >= 0")
        neg = int(np.count_nonzero(values < 0))
        if neg:
            raise InputError(
                f"{name}: {neg} pixels are negative (minimum {values.min():.4g}); expected >= 0"
            )
        return values

    # -- PSF -------------------------------------------------------------------

    def addpsf(self, img, normalize=True, idx=0) -> None:
        """Attach a PSF kernel, centred and padded/cropped to the image shape.

        The kernel's pixel ``((ky - 1) // 2, (kx - 1) // 2)`` is put at
        ``((ny - 1) // 2, (nx - 1) // 2)``. The kernel's centre is its
        geometric centre, ``((ky - 1) / 2, (kx - 1) / 2)``: half a pixel
        beyond that pixel along an even axis (:attr:`psf_offset`), which the
        convolution honours, so a symmetric kernel of any size moves no
        light. The pixel scale is assumed to be the image's. Sets
        :attr:`psf` and :attr:`psf_extent`.

        Parameters
        ----------
        img : str, os.PathLike, HDU, HDUList or array
            The kernel.
        normalize : bool
            Scale the placed kernel to unit sum.
        idx : int
            HDU to read from a file or an HDU list.
        """
        normalize = bool(normalize)
        kernel = read_kernel(img, idx=idx)
        check_normalizable(kernel, normalize)
        psf = prepare_psf(kernel, self.shape, normalize)
        self._psf_kernel, self._psf_normalize = kernel, normalize
        self.psf, self.psf_extent = psf, kernel_extent(psf)
        if getattr(self._noise, "uses_psf", False):
            self._noise.bind(self)

    def _place_psf(self) -> None:
        if self._psf_kernel is None:
            return
        self.psf = prepare_psf(self._psf_kernel, self.shape, self._psf_normalize)
        self.psf_extent = kernel_extent(self.psf)

    @property
    def psf_offset(self) -> tuple[float, float]:
        """Rows and columns from :attr:`psf`'s centre pixel to the kernel's true centre.

        A kernel's centre is its geometric centre: along an axis of odd
        length that is a pixel, and the offset is 0; along an even one it
        lies between two pixels, half a pixel beyond the centre pixel (see
        :mod:`socca.data.psf`). A dirty beam (a noise model whose
        ``psf_centre`` is ``"peak"``, :class:`~socca.noise.NormalRI`) is
        centred on its peak pixel instead.
        """
        if self._psf_kernel is None:
            return (0.0, 0.0)
        if getattr(self._noise, "psf_centre", "geometric") == "peak":
            peak = np.unravel_index(np.argmax(self.psf), self.psf.shape)
            return tuple(float(p - (n - 1) // 2) for p, n in zip(peak, self.shape, strict=True))
        return centre_offset(self._psf_kernel.shape)

    # -- mask ------------------------------------------------------------------

    def addmask(self, regions, combine=True) -> None:
        """Mask pixels with DS9 regions, arrays or FITS maps.

        Convention: arrays and FITS maps give 1 (True) for pixels to use and
        0 (False) for pixels to ignore; FITS maps with a WCS are reprojected onto
        the image (nearest neighbour, outside the map = 0). DS9 regions (file
        paths, strings such as ``'fk5; circle(20, -10, 5")'`` or ``regions``
        objects) mark pixels to IGNORE: those whose centre lies inside the
        regions, minus those inside regions flagged as exclude (``-circle``).

        Parameters
        ----------
        regions : item or list of items
            Mask items; a pixel is used only if every item uses it.
        combine : bool
            If True, the new mask is ANDed with the current one; if False it
            replaces it (non-finite pixels stay masked either way).
        """
        self._set_mask(regions, combine)
        self._noise.bind(self)

    def _set_mask(self, regions, combine) -> None:
        if not isinstance(combine, bool | np.bool_):
            raise InputTypeError(f"combine: expected True or False, got {combine!r}")
        new = build_mask(regions, self.wcs, self.shape) & self._finite
        self.mask = self.mask & new if combine else new

    # -- cutout ----------------------------------------------------------------

    def cutout(self, center, csize) -> None:
        """Cut the image down to a region around ``center``, in place.

        Data, mask, exposure, response, header/WCS and grid are cut consistently
        with :class:`astropy.nddata.Cutout2D` (``mode='trim'``: a cutout reaching
        past the edges is trimmed to the image); the PSF is re-placed on the new
        shape from the kernel as loaded.

        Parameters
        ----------
        center : tuple of float or SkyCoord
            Pixel position ``(x, y)`` (0-based, x = column) or sky position.
        csize : int, tuple, Quantity or tuple of Quantity
            Size in pixels (square if scalar, ``(ny, nx)`` if a pair) or as an
            angle.
        """
        self._cut(center, _check_size(csize))
        self._place_psf()
        self._noise.bind(self)

    def _position(self, center) -> tuple[float, float]:
        if isinstance(center, SkyCoord):
            if not center.isscalar:
                raise InputError(f"center: expected a single sky position, got {center!r}")
            pos = tuple(float(v) for v in self.wcs.world_to_pixel(center))
        else:
            try:
                pos = tuple(float(v) for v in center)
            except (TypeError, ValueError):
                pos = ()
            if len(pos) != 2:
                raise InputError(
                    f"center: expected a pixel position (x, y) or a SkyCoord, got {center!r}"
                )
        ny, nx = self.shape
        x, y = pos
        if not (-0.5 <= x < nx - 0.5 and -0.5 <= y < ny - 0.5):
            raise InputError(
                f"center: pixel position (x, y) = ({x:.2f}, {y:.2f}) lies outside the image "
                f"of shape (ny, nx) = {self.shape}"
            )
        return pos

    def _cut(self, center, csize) -> None:
        cut = Cutout2D(self.data, self._position(center), csize, wcs=self.wcs, mode="trim",
                       copy=True)
        sl = cut.slices_original
        self.data = cut.data
        self.wcs = cut.wcs
        self.shape = cut.data.shape
        self.mask = self.mask[sl].copy()
        self._finite = self._finite[sl].copy()
        self.exposure = self.exposure[sl].copy()
        self.response = self.response[sl].copy()
        header = _header_with_wcs(self.hdu.header, self.wcs)
        self.hdu = type(self.hdu)(data=self.hdu.data[sl].copy(), header=header)
        self.grid = Grid(self.wcs, self.shape, self.subgrid)

    # -- noise -----------------------------------------------------------------

    @property
    def noise(self):
        """The noise model; assigning one binds it to this image."""
        return self._noise

    @noise.setter
    def noise(self, value) -> None:
        self._noise = _check_noise(value)
        self._noise.bind(self)

    def __repr__(self) -> str:
        psf = "none" if self.psf is None else f"extent {self.psf_extent}"
        return (
            f"Image(shape={self.shape}, subgrid={self.subgrid}, "
            f"used pixels={int(self.mask.sum())}/{self.mask.size}, psf={psf}, "
            f"noise={type(self._noise).__name__})"
        )
