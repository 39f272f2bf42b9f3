"""Vertical profiles of disks, importable next to :class:`~socca.models.disk.Disk`.

``socca.models.disk.vertical`` holds the same classes as
:mod:`socca.models.vertical`::

    >>> from socca.models.disk.vertical import ExponentialHeight, Height
"""

from socca.models.vertical import (
    ExponentialHeight,
    Height,
    HyperSecantHeight,
    vertical_classes,
)

__all__ = ["ExponentialHeight", "Height", "HyperSecantHeight", "vertical_classes"]
