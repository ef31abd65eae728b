"""The store's start-up schema check: what changed since the store was last opened, and may it go on.

The store records the evolution snapshot of the package it was opened with
(`schema.ir.json`, see `osis.binding`). On the next start the recorded snapshot and the
package's are compared by the same code as `oschema-gen diff` (`oschema_gen.evolution`):

* compatible changes are applied (the engine adds columns and indexes) and logged;
* a breaking change to stored data, meaning a root object or a type reachable from one, is
  refused with the diff's text, and nothing in the store changes, unless the operator
  asks for it (`osis serve --allow-breaking-schema`);
* changes only to service methods and their input and output types do not concern
  stored data; `oschema-gen diff` in review and CI is where they are caught.
"""

from __future__ import annotations

import logging

from oschema_gen.evolution import Change, Snapshot, SnapshotError, diff_snapshots, render_text

from osis.binding import DomainBinding
from osis.store.errors import SchemaMismatch
from osis.store.schema import SchemaRecord

log = logging.getLogger("osis.evolution")

ALLOW_FLAG = "--allow-breaking-schema"
STORED_LABEL = "the schema the store was last opened with"


class BreakingSchemaChange(SchemaMismatch):
    """The package's schema breaks data the store holds; the message is the diff."""

    def __init__(self, message: str, changes: list[Change]) -> None:
        super().__init__(message)
        self.changes = changes


def schema_record(binding: DomainBinding, allow_breaking: bool = False) -> SchemaRecord:
    """What `Engine.open` records for `binding`, and the check it runs on the recorded one."""
    current = Snapshot.from_json(binding.snapshot)
    label = binding.package

    def check(recorded: str | None) -> None:
        if recorded is None or recorded == binding.snapshot:
            return
        try:
            previous = Snapshot.from_json(recorded)
        except SnapshotError as err:
            if allow_breaking:
                log.warning("recorded schema unreadable; replaced as %s allows", ALLOW_FLAG, extra={"error": str(err)})
                return
            raise SchemaMismatch(
                f"the store's recorded schema cannot be read ({err}); it was probably written by a newer OSIS."
                f" Start that version, or start with {ALLOW_FLAG} to replace the record"
            ) from None
        changes = diff_snapshots(previous, current)
        refused = [c for c in changes if c.breaking and c.stored]
        text = render_text(changes, STORED_LABEL, label)
        if refused and not allow_breaking:
            raise BreakingSchemaChange(
                f"{label} breaks data this store holds ({len(refused)} breaking change(s) to stored types);"
                f" nothing was changed. The changes:\n{text}\n"
                f"Migrate the data, or start with {ALLOW_FLAG} to accept the break (docs/evolution.md)",
                refused,
            )
        if refused:
            log.warning("breaking schema changes accepted (%s):\n%s", ALLOW_FLAG, text)
        elif changes:
            log.info("schema changes applied:\n%s", text)

    return SchemaRecord(binding.snapshot, check)
