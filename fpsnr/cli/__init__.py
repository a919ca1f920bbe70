"""Command-line interface (click)."""

from fpsnr.cli.main import cli, main

__all__ = ["cli", "main"]
