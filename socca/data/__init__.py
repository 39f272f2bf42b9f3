"""Images and their companions: WCS coordinate grid, PSF, masks, exposure and response."""

from socca.data.grid import Grid
from socca.data.image import Image

__all__ = ["Grid", "Image"]
