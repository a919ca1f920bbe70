"""``python -m fpsnr``: the command line."""

from fpsnr.cli import main

if __name__ == "__main__":  # worker processes import this module too; only the parent runs the CLI
    main()
