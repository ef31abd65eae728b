"""The emitted OpenRPC documents validate against the official OpenRPC meta-schema.

The meta-schema is the npm package `@open-rpc/meta-schema` (pinned), fetched once with
`npm pack` into tests/.cache and read with node; it is not vendored into the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.compiler.emitted import emitted
from tests.conftest import FIXTURES, ROOT, SCHEMAS

# (npm package, the export holding the schema): the OpenRPC meta-schema and the
# JSON Schema meta-schema it references for schemas inside a document.
META_PACKAGES = {
    "openrpc": ("@open-rpc/meta-schema@1.14.9", "openrpcDocument"),
    "json-schema-tools": ("@json-schema-tools/meta-schema@1.7.0", "default"),
}
CACHE = ROOT / "tests" / ".cache"


def _npm_json(key: str) -> dict[str, object]:
    package, export = META_PACKAGES[key]
    target = CACHE / f"{package.replace('@', '').replace('/', '-')}.json"
    if not target.exists():
        if not (shutil.which("npm") and shutil.which("node")):
            pytest.fail("npm and node are needed to fetch the OpenRPC meta-schema (apt-get install nodejs npm)")
        work = CACHE / "npm" / key
        work.mkdir(parents=True, exist_ok=True)
        packed = subprocess.run(["npm", "pack", package, "--silent"], cwd=work, capture_output=True, text=True, timeout=180)
        assert packed.returncode == 0, packed.stderr
        with tarfile.open(work / packed.stdout.strip().splitlines()[-1]) as tar:
            tar.extractall(work, filter="data")
        script = "process.stdout.write(JSON.stringify(require(process.argv[1])[process.argv[2]]))"
        dumped = subprocess.run(
            ["node", "-e", script, str(work / "package" / "index.js"), export], capture_output=True, text=True, timeout=60
        )
        assert dumped.returncode == 0, dumped.stderr
        target.write_text(dumped.stdout)
    loaded: dict[str, object] = json.loads(target.read_text())
    return loaded


@pytest.fixture(scope="session")
def validator() -> jsonschema.Draft7Validator:
    meta = _npm_json("openrpc")
    tools = _npm_json("json-schema-tools")
    # Both name a custom dialect URI; their content is draft-07.
    meta.pop("$schema", None)
    tools_resource = Resource.from_contents(tools, default_specification=DRAFT7)
    registry: Registry = Registry().with_resource("https://meta.json-schema.tools", tools_resource)
    registry = registry.with_resource("https://meta.json-schema.tools/", tools_resource)
    return jsonschema.Draft7Validator(meta, registry=registry)


@pytest.mark.parametrize("directory", [SCHEMAS / "ai", FIXTURES / "kitchen"], ids=["ai", "kitchen"])
def test_openrpc_document_is_valid(directory: Path, validator: jsonschema.Draft7Validator) -> None:
    text = next(f.content for f in emitted(directory) if f.path.endswith("openrpc.json"))
    document = json.loads(text)
    validator.validate(document)
    # And every component schema is itself a valid JSON Schema.
    for name, schema in document["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_invalid_document_is_rejected(validator: jsonschema.Draft7Validator) -> None:
    # The validator must be able to fail: a method without a name is not OpenRPC.
    text = next(f.content for f in emitted(SCHEMAS / "ai") if f.path.endswith("openrpc.json"))
    document = json.loads(text)
    del document["methods"][0]["name"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(document)


def test_every_error_a_method_names_is_a_component() -> None:
    text = next(f.content for f in emitted(SCHEMAS / "ai") if f.path.endswith("openrpc.json"))
    document = json.loads(text)
    components = document["components"]["errors"]
    for method in document["methods"]:
        for ref in method["errors"]:
            assert ref["$ref"].removeprefix("#/components/errors/") in components
