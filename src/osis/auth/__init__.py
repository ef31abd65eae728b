"""Access control: bearer tokens, the principal of a request and ownership scoping.

* :mod:`osis.auth.tokens` issues, stores (as hashes only), lists and revokes tokens;
* :mod:`osis.auth.principal` carries who is calling through a request;
* :mod:`osis.auth.gate` is the ASGI layer that turns a bearer token into a principal,
  or answers 401;
* :mod:`osis.auth.command` is `osis token`.

Ownership comes from the schema: a root object's `@owner` field (`user_sid` in the ai
domain). A user token sees and changes only objects whose owner field is its user; an
admin token, and a server without auth, see everything. See docs/auth.md.
"""
