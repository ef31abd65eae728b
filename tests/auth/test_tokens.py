"""`osis token create|list|revoke` and the token store, on both engines: a token is printed
once, the store holds only its hash, revoked tokens are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from osis.auth.tokens import COLLECTION, TOKEN_SPEC, TokenError, TokenStore, hash_token, looks_like_token, now_text
from osis.store.engine import Engine, open_engine
from osis.store.spec import CollectionSpec
from tests.conftest import ROOT


def osis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osis", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def _raw_store_text(engine: Engine, store_url: str) -> str:
    """Everything the store holds for tokens, as text: documents and, for SQLite, the files' bytes."""
    text = json.dumps(engine.find(COLLECTION))
    if store_url.startswith("sqlite:///"):
        path = Path(store_url.removeprefix("sqlite:///"))
        for file in path.parent.glob(path.name + "*"):
            text += file.read_bytes().decode("latin-1")
    else:
        import psycopg

        dsn, _, schema = store_url.partition("?schema=")
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{TOKEN_SPEC.table}"').fetchall()  # noqa: S608 - test schema
        text += repr(rows)
    return text


def test_cli_create_list_revoke(store_url: str) -> None:
    admin = osis("token", "create", "--admin", "--store", store_url)
    assert admin.returncode == 0, admin.stderr
    token = admin.stdout.strip()
    assert looks_like_token(token) and len(token) == 48
    assert "shown only this once" in admin.stderr and token not in admin.stderr
    user = osis("token", "create", "--user", "u1", "--store", store_url)
    assert user.returncode == 0, user.stderr
    user_token = user.stdout.strip()
    assert user_token != token

    listed = osis("token", "list", "--store", store_url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "TOKEN", "KIND", "USER", "CREATED", "REVOKED"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        (token[:9] + "...", "admin", "-", "-"), (user_token[:9] + "...", "user", "u1", "-")]
    assert token not in listed.stdout and user_token not in listed.stdout

    revoked = osis("token", "revoke", rows[1][0], "--store", store_url)
    assert revoked.returncode == 0 and f"revoked token {rows[1][0]}" in revoked.stdout
    again = osis("token", "revoke", rows[1][0], "--store", store_url)
    assert again.returncode == 2 and again.stderr.startswith("osis: error: token ") and "already revoked" in again.stderr
    relisted = [line.split() for line in osis("token", "list", "--store", store_url).stdout.splitlines()[1:]]
    assert relisted[0][5] == "-" and relisted[1][5].endswith("Z")

    engine = open_engine(store_url)
    try:
        engine.open([TOKEN_SPEC])
        tokens = TokenStore(engine)
        assert tokens.lookup(token) is not None and tokens.lookup(token).kind == "admin"  # type: ignore[union-attr]
        assert tokens.lookup(user_token) is None  # revoked
        raw = _raw_store_text(engine, store_url)
        assert token not in raw and user_token not in raw
        assert token[9:] not in raw and user_token[9:] not in raw  # not even the secret part
        assert hash_token(token) in raw
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--user", "two words"], "--user must be a user sid"),
        (["create", "--user", ""], "--user must be a user sid"),
        (["create", "--user", "x" * 129], "--user must be a user sid"),
        (["revoke", "zzzz"], "no token with id 'zzzz'"),
        (["revoke", "not a sid"], "no token with id 'not a sid'"),
    ],
)
def test_cli_errors_are_one_line(store_url: str, args: list[str], message: str) -> None:
    done = osis("token", *args, "--store", store_url)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_cli_usage_and_bad_store(tmp_path: Path) -> None:
    neither = osis("token", "create", "--store", f"sqlite:///{tmp_path}/a.db")
    assert neither.returncode == 2 and "one of the arguments --user --admin is required" in neither.stderr
    both = osis("token", "create", "--admin", "--user", "u1", "--store", f"sqlite:///{tmp_path}/a.db")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    bad = osis("token", "list", "--store", "mysql://nowhere")
    assert bad.returncode == 2 and bad.stderr.startswith("osis: error: ") and bad.stderr.count("\n") == 1


def test_token_store_rules(engine: Engine) -> None:
    tokens = TokenStore(engine)
    assert not tokens.any_issued() and tokens.list() == []
    with pytest.raises(TokenError, match="belongs to no user"):
        tokens.create("admin", "u1", now=now_text())
    with pytest.raises(TokenError, match="--user must be"):
        tokens.create("user", None, now=now_text())
    token, info = tokens.create("user", "u1", now=now_text())
    assert tokens.any_issued()
    principal = tokens.lookup(token)
    assert principal is not None and (principal.kind, principal.user_sid, principal.scope) == ("user", "u1", "u1")
    # Lookalikes, truncations and other shapes are refused before touching the store.
    for wrong in (token[:-1], token + "x", token.upper(), "", "Bearer " + token, token[:-1] + ("A" if token[-1] != "A" else "B")):
        assert tokens.lookup(wrong) is None
    tokens.revoke(info.id, now=now_text())
    assert tokens.lookup(token) is None
    assert tokens.any_issued(), "revoking the last token must not switch auth off"
    with pytest.raises(TokenError, match="defines a collection 'osis_auth_token'"):
        TokenStore.specs_with_tokens([CollectionSpec(name=COLLECTION, indexed=())])


def test_tokens_are_unique_and_random(engine: Engine) -> None:
    tokens = TokenStore(engine)
    issued = {tokens.create("admin", None, now=now_text())[0] for _ in range(50)}
    assert len(issued) == 50
    assert len({t[5:9] for t in issued}) > 40  # the shown part differs too
