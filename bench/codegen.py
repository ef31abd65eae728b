"""Code generation benchmarks (`make bench-codegen`); figures are recorded in bench/README.md.

1. A synthetic 300-type domain (enums; structs of 5-15 fields of every scalar, lists,
   maps and references; 50 root objects with `@index` fields): whole-process
   `oschema-gen generate` against whole-process `datamodel-codegen` (default
   formatting) on the JSON Schema our compiler emits for the same domain. Target: ours
   at least 5x faster.
2. Whole-process `oschema-gen check schemas/ai --out generated`. Target: <= 0.5 s.
3. `python -c "import osis_ai"`. Target: <= 150 ms.

Every figure is the median of 5 runs of a fresh process (`--runs N` to change). The
black format cache (see `oschema_gen/emit/render.py`) is disabled for the generate
comparison, so both generators format every file from scratch; `check` is timed both
cold (cache disabled) and warm (the usual case: nothing changed since the last run).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCALARS = ["str", "bool", "int", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "otime"]
WORDS = [
    "agent", "audit", "batch", "cache", "delta", "event", "fleet", "graph", "index", "job", "kernel", "ledger",
    "metric", "node", "order", "policy", "quota", "route", "shard", "token", "usage", "vault", "window", "zone",
]  # fmt: skip


def synthetic_domain(directory: Path, types: int = 300, roots: int = 50, seed: int = 7) -> None:
    """Write a deterministic domain of `types` declarations (1 in 5 an enum) over 6 files."""
    rng = random.Random(seed)
    names = [f"{rng.choice(WORDS).capitalize()}{rng.choice(WORDS).capitalize()}{i}" for i in range(types)]
    enums = names[: types // 5]
    structs = names[types // 5 :]
    root_set = set(structs[:roots])
    blocks: list[str] = []
    for name in enums:
        values = "\n".join(f"    {w}_{j}" for j, w in enumerate(rng.sample(WORDS, rng.randint(2, 8))))
        blocks.append(f"# The {name} enum.\n{name} = enum {{\n{values}\n}}\n")
    for i, name in enumerate(structs):
        # References point to any type, so forward references are common.
        refs = enums + structs
        lines = []
        if name in root_set:
            lines.append("# [rootobject]")
        lines.append(f"# The {name} type, number {i}.")
        lines.append(f"{name} = {{")
        for j in range(rng.randint(5, 15)):
            kind = rng.random()
            if kind < 0.55:
                ftype = rng.choice(SCALARS)
            elif kind < 0.7:
                ftype = f"[{rng.choice(SCALARS + refs[:40])}]"
            elif kind < 0.8:
                ftype = f"{{str: {rng.choice(SCALARS + enums)}}}"
            else:
                ftype = rng.choice(refs)
            optional = "?" if ftype in structs or rng.random() < 0.25 else ""
            index = " @index" if name in root_set and j < 4 and (ftype in SCALARS or ftype in enums) else ""
            search = " @search" if name in root_set and ftype == "str" and j == 1 else ""
            doc = f"  # field {j} of {name}" if rng.random() < 0.3 else ""
            lines.append(f"    {rng.choice(WORDS)}_{j}{optional}: {ftype}{index}{search}{doc}")
        lines.append("}\n")
        blocks.append("\n".join(lines))
    directory.mkdir(parents=True, exist_ok=True)
    per_file = -(-len(blocks) // 6)
    for k in range(6):
        chunk = blocks[k * per_file : (k + 1) * per_file]
        (directory / f"{k:02d}_part.oschema").write_text("\n".join(chunk), encoding="utf-8")


def median_time(cmd: list[str], runs: int, *, env: dict[str, str] | None = None, cwd: Path = ROOT,
                before: object = None) -> tuple[float, list[float]]:  # fmt: skip
    times = []
    for _ in range(runs):
        if callable(before):
            before()
        start = time.perf_counter()
        result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs
    env = dict(os.environ)
    cold = {**env, "OSCHEMA_GEN_CACHE_DIR": ""}
    rows: list[tuple[str, float, list[float], str]] = []

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        domain = tmp / "bench"
        synthetic_domain(domain)
        ours_out = tmp / "ours"

        def clean_ours() -> None:
            shutil.rmtree(ours_out, ignore_errors=True)

        generate = [str(BIN / "oschema-gen"), "generate", str(domain), "--out", str(ours_out)]
        ours, ours_all = median_time(generate, runs, env=cold, before=clean_ours)
        schema = ours_out / "osis_bench" / "schema.json"
        if not schema.is_file():
            subprocess.run(generate, env=cold, check=True, capture_output=True)
        schema_copy = tmp / "schema.json"
        shutil.copy(schema, schema_copy)
        their_out = tmp / "theirs.py"
        dmcg = [
            str(BIN / "datamodel-codegen"), "--input", str(schema_copy), "--input-file-type", "jsonschema",
            "--output-model-type", "pydantic_v2.BaseModel", "--output", str(their_out),
        ]  # fmt: skip
        theirs, theirs_all = median_time(dmcg, runs, env=env)
        lines_ours = sum(len(p.read_text().splitlines()) for p in (ours_out / "osis_bench").glob("*.py"))
        lines_theirs = len(their_out.read_text().splitlines())
        rows.append((f"oschema-gen generate (300 types, {lines_ours} lines out)", ours, ours_all, ""))
        rows.append((f"datamodel-codegen (same schema.json, {lines_theirs} lines out)", theirs, theirs_all, ""))
        rows.append(("  ratio datamodel-codegen / oschema-gen", theirs / ours, [], "target >= 5x"))

    check = [str(BIN / "oschema-gen"), "check", "schemas/ai", "--out", "generated"]
    subprocess.run(check, cwd=ROOT, env=env, capture_output=True)  # warm the format cache
    warm, warm_all = median_time(check, runs, env=env)
    cold_check, cold_all = median_time(check, runs, env=cold)
    rows.append(("oschema-gen check schemas/ai (warm format cache)", warm, warm_all, "target <= 0.5 s"))
    rows.append(("oschema-gen check schemas/ai (cache disabled)", cold_check, cold_all, ""))

    python = str(BIN / "python")
    baseline, base_all = median_time([python, "-c", "pass"], runs)
    floor, floor_all = median_time([python, "-c", "import osis.scalars"], runs)
    imp, imp_all = median_time([python, "-c", "import osis_ai"], runs)
    rows.append(('python -c "import osis_ai"', imp, imp_all, "target <= 0.150 s"))
    rows.append(('  of which pydantic + osis.scalars ("import osis.scalars")', floor, floor_all, ""))
    rows.append(('  of which interpreter start (python -c "pass")', baseline, base_all, ""))

    print(f"{platform.node()} | {platform.python_implementation()} {platform.python_version()} | "
          f"{os.cpu_count()} CPUs | {time.strftime('%Y-%m-%d')} | median of {runs}")  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark'.ljust(width)} | {'median':>9} | runs (s)")
    print(f"{'-' * width}-|-{'-' * 9}-|-{'-' * 40}")
    for label, value, all_runs, note in rows:
        shown = f"{value:8.2f}x" if "ratio" in label else f"{value:8.3f}s"
        detail = " ".join(f"{t:.3f}" for t in all_runs)
        print(f"{label.ljust(width)} | {shown} | {detail} {note}".rstrip())


if __name__ == "__main__":
    main()
