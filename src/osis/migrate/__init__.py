"""One-time migration of a legacy hero_agent SQLite file into OSIS (`osis migrate`).

Modules, in the order data flows through them:

* :mod:`.legacy` opens the file without changing it and reads its tables in id order;
* :mod:`.tables` maps each row to its OSIS document (or a quarantine reason), using
  :mod:`.fields` for column values, :mod:`.timestamps` for times, :mod:`.sids` for ids;
* :mod:`.write` stores the documents in batches, idempotently, and has :mod:`.verify`
  compare each batch's rows with the objects read back (:mod:`.compare`); ``--verify-only``
  runs :mod:`.verify` alone;
* :mod:`.report`, :mod:`.quarantine` and :mod:`.progress` tell the operator;
  :mod:`.runner` runs it all once and :mod:`.command` is the command line.

docs/legacy-schema.md describes the legacy layout and every mapping rule.  The package
imports nothing itself, so registering the command costs `osis` nothing at start-up; the
API is :func:`osis.migrate.runner.run`.
"""
