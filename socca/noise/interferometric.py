"""Image-plane likelihood of a naturally weighted interferometric dirty image."""

from __future__ import annotations

import numbers

import numpy as np

from socca.errors import InputError, InputTypeError
from socca.noise.base import refuse_mask
from socca.noise.fourier import FourierDiagonal
from socca.noise.normal import FAMILY, _inverse_variance, _join, mad_sigma

#: Fourier modes where the dirty beam's transform is below this fraction of its
#: maximum are taken as unsampled by the interferometer and ignored.
BEAM_FLOOR = 1e-3


def _scalar_amplitude(kw: dict) -> tuple[str | None, float | None]:
    """The amplitude keyword and its sigma, checking it is a single positive scalar."""
    unknown = [k for k in kw if k not in FAMILY]
    if unknown:
        raise InputTypeError(
            f"NormalRI() got unexpected keyword argument(s) {_join(unknown)}; accepted "
            f"keywords: floor, {', '.join(FAMILY)}"
        )
    if len(kw) > 1:
        raise InputError(
            f"NormalRI() takes a single noise amplitude keyword, got {_join(kw)}: give only one "
            "of sigma, variance or weight"
        )
    if not kw:
        return None, None
    ((key, value),) = kw.items()
    if np.ndim(value) != 0 or not isinstance(np.asarray(value).item(), numbers.Real):
        raise InputError(
            f"NormalRI {key}: expected a scalar (the noise of a dirty image is set by the "
            f"visibilities and is the same everywhere before primary-beam correction), got "
            f"{type(value).__name__} {np.shape(value)}"
        )
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"NormalRI {key} must be finite and > 0, got {key}={value}")
    return key, float(1.0 / np.sqrt(_inverse_variance(FAMILY[key], np.asarray(value))))


class NormalRI(FourierDiagonal):
    """Visibility likelihood of a naturally weighted dirty image, in the image plane.

    The image is a dirty image made with natural weighting, its PSF is the
    dirty beam and its ``response`` the primary-beam model, so the rendered
    model is the dirty-beam convolution of the primary-beam-weighted sky.

    Parameters
    ----------
    floor : float
        Fourier modes where the beam's transform is below ``floor`` times its
        maximum are treated as unsampled and ignored.
    **amplitude
        At most one scalar noise amplitude, with the keywords of
        :class:`~socca.noise.Normal`: ``sigma`` (``sig``, ``std``, ``rms``,
        ``stddev``), ``variance`` (``var``) or ``weight`` (``wht``, ``wgt``,
        ``weights``, ``invvar``): the pixel noise of the dirty image (in
        Jy/beam for a beam of unit peak). Without one, sigma is estimated at
        :meth:`bind` as 1.4826 times the MAD of the pixels; the sidelobes of a
        bright source bias that high, so give sigma (from the visibilities or
        a source-free field) when the source is bright.

    Attributes
    ----------
    noise_level : float or None
        The pixel sigma (given, or the MAD estimate after :meth:`bind`).
    transfer : numpy.ndarray or None
        After :meth:`bind`, the transform of the peak-normalised dirty beam
        (``rfft2`` layout): the gridded weight of each ``uv`` cell.
    power : numpy.ndarray or None
        After :meth:`bind`, the noise power ``npix sigma^2 transfer`` of each
        mode (numpy's unnormalised FFT convention, as for
        :class:`~socca.noise.NormalFourier`; ``inf`` on unsampled modes).

    Notes
    -----
    For visibilities ``V_k`` with natural weights ``w_k``, the dirty image is
    ``I_D = b * s + n`` with ``b`` the dirty beam (unit peak), ``s`` the sky
    and ``n`` noise of covariance ``sigma^2 b(x - y)``, with
    ``sigma^2 = 1 / sum_k w_k`` (Powell et al. 2020; Zhang et al. 2025). The
    visibility chi-square ``sum_k w_k |V_k - M_k|^2`` can then be written in
    the image plane, up to a constant, as
    ``(I_D - b * m)^T (sigma^2 B)^+ (I_D - b * m)``, ``B`` the convolution by
    the beam and ``+`` the pseudo-inverse on the sampled ``uv`` cells. This
    class evaluates it in Fourier space, where the beam is diagonal: the
    noise is Gaussian with power ``P(k) = npix sigma^2 b~(k)`` (numpy's
    unnormalised FFT), ``b~`` the discrete transform of the beam, on the
    modes where ``b~ > floor * max(b~)``, which
    is :class:`~socca.noise.fourier.FourierDiagonal` with that spectrum; for
    a beam that is a single pixel it is :class:`~socca.noise.Normal`.

    It is an approximation: the visibilities are effectively gridded onto the
    image's Fourier grid and the beam is taken as periodic over the image
    (its sidelobes beyond the image edges are ignored), which holds when the
    image is several times the primary beam. The normalisation is that of the
    dirty-image density on the sampled modes, not the one of the visibility
    likelihood (which depends on the number of visibilities); it is the same
    for every model of the same image, so evidence ratios are unchanged.

    Use ``Image(..., addpsf=dict(img=beam, normalize=False), response=pb)``:
    a dirty beam of unit peak keeps a model in Jy/pixel rendering to a dirty
    image in Jy/beam (the beam is divided by its central value here, so the
    noise model does not depend on that choice). Masks are refused (as for
    :class:`~socca.noise.NormalFourier`), and so are exposure maps: the
    primary beam multiplies the sky before the convolution, so it goes in
    ``response``. The image can be set up in any order (beam, response, noise
    model); these requirements are checked when the likelihood is built
    (``socca.fitter``), not when the noise model is attached.
    """

    uses_psf = True
    psf_centre = "peak"
    #: Why the image last bound cannot be used yet (raised when the likelihood is built).
    _pending = None

    def __init__(self, floor=BEAM_FLOOR, **amplitude):
        self.key, self.noise_level = _scalar_amplitude(amplitude)
        self._given = self.noise_level
        if not (isinstance(floor, numbers.Real) and 0 <= floor < 1):
            raise InputError(f"NormalRI floor: expected a number in [0, 1), got {floor!r}")
        self.floor = float(floor)
        self.transfer = None
        self.power = None
        self.nmodes = None
        self._bound = False
        self._pending = None

    def __repr__(self) -> str:
        if self.key is None:
            return "NormalRI()"
        return f"NormalRI({self.key}={self.noise_level:g})"

    def bind(self, img) -> None:
        """Build the noise power from the image's dirty beam; see :class:`Noise`.

        An image that is not set up for this model yet (no dirty beam, an
        exposure map or a mask) is not refused here: the image may get its
        beam later (``img.addpsf``). The reason is kept and raised when the
        likelihood is built (:meth:`check`, :meth:`loglike_fn`).
        """
        self._bound = False
        self._pending = self._setup_error(img)
        if self._pending is not None:
            return
        ny, nx = img.shape
        beam = np.asarray(img.psf, dtype=np.float64)
        cy, cx = np.unravel_index(np.argmax(beam), beam.shape)  # the beam's centre
        beam = np.roll(beam / beam[cy, cx], (-cy, -cx), axis=(0, 1))
        transfer = np.fft.rfft2(beam).real  # real part: the beam is symmetric
        self.transfer = transfer
        sigma = self._given if self._given is not None else self._mad(img.data)
        keep = transfer > self.floor * transfer.max()
        # noise power in numpy's unnormalised FFT convention: npix sigma^2 b~(k)
        power = (ny * nx) * sigma**2 * np.where(keep, transfer, 1.0)
        self._store(np.asarray(img.data, dtype=np.float64), np.where(keep, 1.0 / power, 0.0))

    def check(self, img) -> None:
        """Raise :class:`~socca.errors.InputError` unless ``img`` is set up for this model.

        It needs the dirty beam as its PSF, no exposure map and no mask. If
        the image was fixed after the last :meth:`bind` without rebinding
        (e.g. ``img.exposure`` reassigned), the model is bound again.
        """
        error = self._setup_error(img)
        if error is not None:
            raise InputError(error)
        if self._pending is not None:
            self.bind(img)

    def _check_bound(self) -> None:
        if self._pending is not None:
            raise InputError(self._pending)
        super()._check_bound()

    @staticmethod
    def _setup_error(img) -> str | None:
        """Why ``img`` cannot be used with this model as it is set up now, or None."""
        try:
            refuse_mask(img, "NormalRI")
        except InputError as err:
            return str(err)
        exposure = getattr(img, "exposure", None)
        if exposure is not None and np.any(np.asarray(exposure) != 1.0):
            return (
                "NormalRI: an exposure map does not apply to an interferometric image; give "
                "the primary-beam model as response= (it multiplies the sky before the "
                "dirty-beam convolution)"
            )
        psf = getattr(img, "psf", None)
        if psf is None:
            return (
                "NormalRI needs the dirty beam as the image PSF: "
                "Image(..., addpsf=dict(img=beam, normalize=False))"
            )
        ny, nx = img.shape
        cy, cx = (ny - 1) // 2, (nx - 1) // 2
        peak = float(psf[cy, cx])
        if not peak > 0:
            return (
                f"NormalRI: the dirty beam must be positive at its centre, got {peak:g} at "
                f"pixel {(cy, cx)}"
            )
        return None

    def _mad(self, data) -> float:
        sigma = mad_sigma(np.asarray(data).ravel())
        print("Using MAD for estimating noise level")
        print(f"- noise level: {sigma:.2E}")
        if not sigma > 0:
            raise InputError("NormalRI: the MAD of the pixels is zero; give sigma")
        self.noise_level = sigma
        return sigma
