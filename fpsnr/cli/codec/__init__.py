"""``fpsnr codec``: the learned codec's commands, one module each (needs the ``codec`` extra).

torch is imported inside the commands only, so ``fpsnr --help`` and the core commands
stay light, and a missing extra is a one-line message with exit status 1.
"""

from __future__ import annotations

import click

from fpsnr.cli.codec.convert import convert_command
from fpsnr.cli.codec.decode import decode_command
from fpsnr.cli.codec.encode import encode_command
from fpsnr.cli.codec.eval import eval_command
from fpsnr.cli.codec.models import models_command
from fpsnr.cli.codec.pretrained import pretrained_group
from fpsnr.cli.codec.roundtrip import roundtrip_command
from fpsnr.cli.codec.train import train_command
from fpsnr.cli.options import OrderedGroup

__all__ = ["codec_group"]


@click.group("codec", cls=OrderedGroup)
def codec_group() -> None:
    """The learned codec: Ballé 2018 hyperprior, with or without attention.

    \b
    Example:
      fpsnr codec roundtrip kodim23.png --regions kodak --fp 0,0.5
    """


# in the order a user meets them (the README's)
for _command in (models_command, encode_command, decode_command, roundtrip_command, convert_command,
                 pretrained_group, eval_command, train_command):  # fmt: skip
    codec_group.add_command(_command)
