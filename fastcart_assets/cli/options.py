"""Option types shared by the commands: finite, bounded numbers and Kafka addresses.

click's FloatRange lets `nan` through (every comparison with it is false) and an unbounded
option lets a typo ask for years of work; these types refuse both with a one-line message.
"""

from __future__ import annotations

import math

import click

from fastcart_assets.settings import SettingsError, parse_bootstrap


class Finite(click.FloatRange):
    """A finite float within [min, max]."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Bootstrap(click.ParamType):
    """Kafka bootstrap servers, `host:port[,host:port…]`."""

    name = "host:port"

    def convert(self, value, param, ctx):
        try:
            return parse_bootstrap(str(value))
        except SettingsError as exc:
            self.fail(f"{value!r}: {exc}", param, ctx)


BOOTSTRAP = Bootstrap()
SEED = click.IntRange(0, 2**63 - 1)
