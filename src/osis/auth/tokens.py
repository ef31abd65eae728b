"""Bearer tokens: issued once, stored as hashes, listed, revoked.

A token is `osis_` followed by 32 random bytes (`secrets.token_urlsafe`), 256 bits of
entropy. The store keeps its SHA-256, never the token: whoever reads the store (a
backup, a replica) cannot call the API with what they find there. A plain fast hash is
enough here, unlike for passwords: a slow key-derivation function protects guessable
secrets, while a 256-bit random token cannot be found from its hash by trying
candidates. And a fast hash lets every request look its token up by an indexed
equality instead of running a key-derivation function per call.

Tokens live in the runtime's own collection `osis_auth_token` next to the domain's
collections, on either engine. Revoking marks a token revoked rather than deleting it,
so a store that ever held a token keeps requiring one: revoking the last token must not
silently open the server.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from osis.scalars import format_otime
from osis.store.engine import Engine
from osis.store.query import Cond, Query
from osis.store.spec import CollectionSpec, IndexedField

from .principal import Kind, Principal

COLLECTION: Final = "osis_auth_token"
TOKEN_SPEC: Final = CollectionSpec(
    name=COLLECTION,
    indexed=(IndexedField("token_hash", "str"), IndexedField("created_at", "time")),
)
PREFIX: Final = "osis_"
#: Characters of a token shown by `osis token list` to tell tokens apart: the fixed
#: prefix and 4 random characters (24 of the 256 bits).
SHOWN: Final = len(PREFIX) + 4
_TOKEN_RE: Final = re.compile(r"osis_[A-Za-z0-9_-]{43}")
#: A user sid as tokens accept it: what the ai domain's sids and hero_agent's user ids look like.
_USER_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")


class TokenError(ValueError):
    """A token cannot be created or revoked as asked (bad user, unknown id, ...)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the store knows of a token: everything but the token itself."""

    id: str
    kind: Kind
    user_sid: str | None
    shown: str  # the first SHOWN characters of the token
    created_at: str
    revoked_at: str | None

    @property
    def principal(self) -> Principal:
        return Principal(self.kind, self.user_sid, self.id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether `text` has the shape of an OSIS token (checked before any store lookup)."""
    return _TOKEN_RE.fullmatch(text) is not None


def _info(doc: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=doc["sid"],
        kind=doc["kind"],
        user_sid=doc.get("user_sid"),
        shown=doc["shown"],
        created_at=doc["created_at"],
        revoked_at=doc.get("revoked_at"),
    )


class TokenStore:
    """The tokens of one store. Opens the token collection on `engine` when asked to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def specs_with_tokens(specs: Collection[CollectionSpec]) -> list[CollectionSpec]:
        """A domain's specs plus the token collection; refuses a domain that claims its name."""
        if any(spec.name == COLLECTION for spec in specs):
            raise TokenError(f"the schema defines a collection {COLLECTION!r}, which OSIS keeps its tokens in")
        return [*specs, TOKEN_SPEC]

    def create(self, kind: Kind, user_sid: str | None, *, now: str) -> tuple[str, TokenInfo]:
        """A new token and its record; the token is returned here and never again."""
        if kind == "user":
            if user_sid is None or _USER_RE.fullmatch(user_sid) is None:
                raise TokenError(
                    f"--user must be a user sid (letters, digits and _.:@-, at most 128 characters), got {user_sid!r}"
                )
        elif user_sid is not None:
            raise TokenError("an admin token belongs to no user")
        token = PREFIX + secrets.token_urlsafe(32)
        doc = self.engine.insert(
            COLLECTION,
            {"kind": kind, "user_sid": user_sid, "token_hash": hash_token(token), "shown": token[:SHOWN],
             "created_at": now, "revoked_at": None},
        )
        return token, _info(doc)

    def list(self) -> list[TokenInfo]:
        """Every token ever issued, revoked ones included, oldest first."""
        return [_info(d) for d in self.engine.find(COLLECTION, Query(order_by="created_at"))]

    def revoke(self, token_id: str, *, now: str) -> TokenInfo:
        """Mark a token revoked; raises TokenError for an unknown or already revoked id."""
        from osis.store.errors import InvalidQuery

        try:
            doc = self.engine.get(COLLECTION, token_id)
        except InvalidQuery:
            doc = None
        if doc is None:
            raise TokenError(f"no token with id {token_id!r} (see `osis token list`)")
        if doc.get("revoked_at") is not None:
            raise TokenError(f"token {token_id} was already revoked at {doc['revoked_at']}")
        doc["revoked_at"] = now
        self.engine.replace(COLLECTION, doc)
        return _info(doc)

    def lookup(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None for anything else."""
        if not looks_like_token(token):
            return None
        docs = self.engine.find(COLLECTION, Query(filters=[Cond("token_hash", "eq", hash_token(token))], limit=1))
        if not docs or docs[0].get("revoked_at") is not None:
            return None
        return _info(docs[0]).principal

    def any_issued(self) -> bool:
        """Whether this store ever issued a token (revoked ones count: see the module doc)."""
        return self.engine.count(COLLECTION) > 0


def now_text() -> str:
    """The current UTC time as stored in token records."""
    return format_otime(datetime.now(timezone.utc))
