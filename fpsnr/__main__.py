"""``python -m fpsnr``: the command line."""

from fpsnr.cli import main

main()
