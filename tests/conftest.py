"""Shared test setup: repository paths and the environment contract with CI."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
GENERATED = ROOT / "generated"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
