"""docs/evolution.md lists exactly the rules `oschema-gen diff` applies, with their classes and titles."""

from __future__ import annotations

import re

from oschema_gen.evolution import RULES
from tests.conftest import ROOT

ROW = re.compile(r"^\| (OS3\d\d) \| ([a-z-]+) \| ([^|]+?) \|", re.MULTILINE)


def test_rules_table_matches_the_code() -> None:
    text = (ROOT / "docs" / "evolution.md").read_text()
    documented = {code: (cls, title) for code, cls, title in ROW.findall(text)}
    assert documented == {r.code: (r.change_class, r.title) for r in RULES.values()}


def test_every_class_has_an_example() -> None:
    text = (ROOT / "docs" / "evolution.md").read_text()
    for cls in ("wire-breaking", "query-breaking", "compatible"):
        assert re.search(rf"^schemas/ai/\S+:\d+:\d+: {cls}\[OS3\d\d\]: ", text, re.MULTILINE), cls
