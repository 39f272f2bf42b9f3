"""Model images from a fit: best-fit or posterior-median maps, and FITS output."""

from __future__ import annotations

import os

import jax
import numpy as np
from astropy.io import fits

from socca.atomic import write_atomically
from socca.models.render import build_render

WHAT_ALIASES = {
    "raw": "raw",
    "smoothed": "smoothed",
    "conv": "smoothed",
    "convolved": "smoothed",
    "background": "background",
    "bkg": "background",
}
ALL = ("raw", "smoothed", "background")
MARGINAL_DRAWS = 500
CHUNK = 64


def parse_what(what) -> tuple[tuple[str, ...], bool]:
    """Normalise ``what`` to canonical names; the flag says whether a tuple is returned."""
    if isinstance(what, str) and what.lower() == "all":
        return ALL, True
    items = [what] if isinstance(what, str) else list(what)
    names = []
    for item in items:
        key = WHAT_ALIASES.get(str(item).lower())
        if key is None:
            raise ValueError(
                f"what={item!r} is not a model product; choose 'all' or among "
                f"{', '.join(sorted(WHAT_ALIASES))}"
            )
        names.append(key)
    return tuple(names), not isinstance(what, str)


def compiled_maps(components, img, doresp, doexp, component):
    """Jitted ``theta -> (raw, smoothed, background)`` and its vmapped twin."""
    render, pmap = build_render(components, img, doresp=doresp, doexp=doexp, include=component)

    def maps(theta):
        m = render(theta)
        return m.raw, m.smoothed, m.background

    return jax.jit(maps), jax.jit(jax.vmap(maps)), pmap


def median_of_realisations(
    batch_maps, samples, weights, seed=0, draws=MARGINAL_DRAWS, progress=True
):
    """Pixel-wise median of the model over equal-weight posterior draws (batched)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(weights), size=draws, p=weights)
    chunks = [samples[idx[i : i + CHUNK]] for i in range(0, draws, CHUNK)]
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="model realisations", unit="batch")
    outs = [tuple(np.asarray(a) for a in batch_maps(chunk)) for chunk in chunks]
    return tuple(np.median(np.concatenate([o[k] for o in outs]), axis=0) for k in range(3))


def write_fits(name, images, names, img, overwrite=False, components=None):
    """Write model image(s) with the image's WCS; one slice per product.

    A single product is a 2-D image with the ``MODEL`` keyword; several are
    a cube with ``NSLICES`` and ``SLICEn``. ``components`` (ids), when the
    model is that of some components only, are listed in ``COMPS``.

    Refuses to replace an existing ``name`` unless ``overwrite``; the file is
    written to ``name + '.tmp'``, flushed to disk and renamed onto ``name``
    (atomic), so an interrupted write leaves the previous file intact.
    """
    header = img.wcs.to_header()
    if components is not None:
        header["COMPS"] = (",".join(components), "model components included")
    if len(images) == 1:
        data = images[0]
        header["MODEL"] = (names[0], "model product")
    else:
        data = np.stack(images)
        header["NSLICES"] = (len(images), "number of model slices")
        for i, n in enumerate(names, start=1):
            header[f"SLICE{i}"] = (n, f"model product in slice {i}")
    if os.path.exists(name) and not overwrite:
        raise FileExistsError(f"{name} exists; pass overwrite=True to replace it")
    write_atomically(name, fits.PrimaryHDU(data=data, header=header).writeto)
