"""`__init__.py`: the package's public names."""

from __future__ import annotations

from ..ir import Domain
from . import header
from .render import format_python, render


def init_module(domain: Domain) -> str:
    return format_python(render("__init__.py.jinja", header=header(domain), domain=domain))
