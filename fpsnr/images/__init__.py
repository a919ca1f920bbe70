"""Image files and pairs: reading and writing them, and making two images comparable.

:mod:`~fpsnr.images.io` reads, writes and finds files (every size checked against
:mod:`fpsnr.limits` before decoding); :mod:`~fpsnr.images.pairs` fixes what the metric sums
over (peak, channels, luma, alpha).
"""
