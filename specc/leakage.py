"""Leakage between splits: exact and near-duplicate rows shared by train, validation and test.

Rows compare on their text normalized like `dedup` does (NFKC, no control characters, collapsed
whitespace, lowercase). Near duplicates are pairs of distinct texts whose word or character
n-gram sets have Jaccard similarity at least a threshold, among the candidates of specc.minhash's
MinHash LSH (the near-dedup step's): only pairs of texts that can pair rows of two splits are
made and every one is verified exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from specc.components import NearParams
from specc.errors import SpeccError
from specc.minhash import (
    DEFAULT_NGRAM,
    TooManyCandidates,
    Unit,
    confirmed_pairs,
    resolve_unit,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.components import LeakageParams

EXAMPLES = 5
EXAMPLE_CHARS = 200
MAX_NEAR_CANDIDATES = 5_000_000


# --- the report -------------------------------------------------------------------------------


def default_columns(table: pa.Table) -> list[str]:
    """`text` when the table has it, else every string column whose name does not start with `_`."""
    import pyarrow as pa

    if "text" in table.column_names:
        return ["text"]
    return [
        f.name
        for f in table.schema
        if not f.name.startswith("_") and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]


def _keys(table: pa.Table, columns: Sequence[str]) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Each row's normalized key (columns joined by U+001F) and whether any part is non-empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.text import comparison_key

    parts = []
    for name in columns:
        if name not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise SpeccError(f"error: split: leakage check: no column '{name}'; the columns are: {shown}")
        values = table.column(name)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise SpeccError(f"error: split: leakage check: column '{name}' holds {values.type}, not text")
        parts.append(pc.fill_null(comparison_key(values), ""))
    if not parts:
        raise SpeccError("error: split: leakage check: the rows have no text column to compare")
    nonempty = pc.greater(pc.utf8_length(parts[0]), 0)
    for part in parts[1:]:
        nonempty = pc.or_(nonempty, pc.greater(pc.utf8_length(part), 0))
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return key, nonempty


def key_codes(table: pa.Table, columns: Sequence[str]) -> pa.DictionaryArray:
    """Each row's key (its text normalized like `dedup` does) as a dictionary code; null where all of it is empty."""
    import pyarrow.compute as pc

    key, nonempty = _keys(table, columns)
    return pc.dictionary_encode(pc.if_else(nonempty, key, None)).combine_chunks()


def _numbered(codes: pa.DictionaryArray, present: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct keys of the present rows numbered by first appearance (in table order), and each row's number."""
    import numpy as np
    import pyarrow.compute as pc

    numbered = pc.dictionary_encode(codes.indices.filter(present)).combine_chunks()  # codes in order of appearance
    by_first = numbered.dictionary.to_numpy(zero_copy_only=False)
    same = len(by_first) == len(codes.dictionary) and bool((by_first == np.arange(len(by_first))).all())
    texts = codes.dictionary if same else codes.dictionary.take(numbered.dictionary)
    return texts, numbered.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _shown(table: pa.Table, columns: Sequence[str], row: int) -> str:
    """A row's text in the key columns, joined by ' | ' and cut to EXAMPLE_CHARS characters."""
    values = [table.column(c)[row].as_py() for c in columns]
    text = " | ".join("" if v is None else str(v) for v in values)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def leakage_report(
    table: pa.Table,
    columns: Sequence[str] | None = None,
    *,
    order: Sequence[str] | None = None,
    near: NearParams | None = None,
    languages: Sequence[str] = (),
    seed: int = 0,
    codes: pa.DictionaryArray | None = None,
) -> dict[str, Any]:
    """Rows shared across splits, for every pair of splits: exact (and with `near`, near) duplicates.

    `table` holds `_split`, `_id` and the data columns. Rows compare on `columns` (default:
    `default_columns`), normalized like `dedup` does; rows whose key columns are all empty or
    null are left out. Near pairs have Jaccard >= threshold over n-gram sets and are not exact
    duplicates. Counts are row pairs; `*_rows` count the distinct rows of each split involved.
    `codes` are `key_codes(table, columns)` when the caller has them (the executor caches them).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.output import order_splits

    columns = list(columns) if columns else default_columns(table)
    split_col = table.column("_split")
    present = [s for s in pc.unique(split_col).to_pylist() if s is not None]
    splits = [s for s in (order or []) if s in present]
    splits += order_splits([s for s in present if s not in splits], [])
    codes = key_codes(table, columns) if codes is None else codes
    rank = pc.index_in(split_col, value_set=pa.array(splits, pa.string()))
    present_rows = pc.and_(pc.is_valid(codes), pc.is_valid(rank))
    texts, text_of = _numbered(codes, present_rows)
    split_of = rank.filter(present_rows).to_numpy().astype(np.int64)
    row_of = np.flatnonzero(present_rows.to_numpy(zero_copy_only=False))
    rows = {"text": text_of, "split": split_of, "row": row_of}
    cell = text_of * len(splits) + split_of
    counts = np.bincount(cell, minlength=len(texts) * len(splits)).reshape(len(texts), len(splits))
    unique_cells, first_index = np.unique(cell, return_index=True)
    first_of_cell = np.full(len(texts) * len(splits), table.num_rows, np.int64)
    first_of_cell[unique_cells] = row_of[first_index]
    firsts = first_of_cell.reshape(len(texts), len(splits))

    pair_names = [(a, b) for a in range(len(splits)) for b in range(a + 1, len(splits))]
    report_pairs: dict[str, dict[str, Any]] = {}
    wanted: set[int] = set()  # texts whose ids the examples show
    shared = np.flatnonzero((counts > 0).sum(axis=1) > 1)
    for a, b in pair_names:
        both = shared[(counts[shared, a] > 0) & (counts[shared, b] > 0)]
        first = np.minimum(firsts[both, a], firsts[both, b])
        chosen = both[np.argsort(first, kind="stable")[:EXAMPLES]]
        wanted.update(chosen.tolist())
        report_pairs[f"{splits[a]}/{splits[b]}"] = {
            "exact_pairs": int((counts[both, a] * counts[both, b]).sum()),
            "exact_rows": {splits[a]: int(counts[both, a].sum()), splits[b]: int(counts[both, b].sum())},
            "exact_texts": len(both),
            "examples": [("exact", int(t), a, b) for t in chosen],
        }
        if near is not None:
            report_pairs[f"{splits[a]}/{splits[b]}"]["near_examples"] = []

    near_info = None
    if near is not None:
        unit = resolve_unit(near.unit, languages, texts)
        n = near.ngram or DEFAULT_NGRAM[unit]
        near_info = {"threshold": near.threshold, "unit": unit, "ngram": n, "num_perm": near.num_perm}
        found, similarity = _near_pairs(texts, counts, unit, n, near, seed)
        for a, b in pair_names:
            u, v = found[:, 0], found[:, 1]
            forward = counts[u, a] * counts[v, b]
            backward = counts[u, b] * counts[v, a]
            hit = (forward + backward) > 0
            left = np.unique(
                np.concatenate(
                    [u[hit & (counts[u, a] > 0) & (counts[v, b] > 0)], v[hit & (counts[v, a] > 0) & (counts[u, b] > 0)]]
                )
            )
            right = np.unique(
                np.concatenate(
                    [v[hit & (counts[u, a] > 0) & (counts[v, b] > 0)], u[hit & (counts[v, a] > 0) & (counts[u, b] > 0)]]
                )
            )
            index = np.flatnonzero(hit)
            first = np.minimum(firsts[u[index]].min(axis=1), firsts[v[index]].min(axis=1))
            chosen = index[np.lexsort((v[index], u[index], first))[:EXAMPLES]]
            examples = []
            for k in chosen:
                x, y = (u[k], v[k]) if forward[k] > 0 else (v[k], u[k])
                wanted.update((int(x), int(y)))
                examples.append(("near", (int(x), int(y), round(float(similarity[k]), 4)), a, b))
            entry = report_pairs[f"{splits[a]}/{splits[b]}"]
            entry["near_pairs"] = int((forward + backward).sum())
            entry["near_rows"] = {splits[a]: int(counts[left, a].sum()), splits[b]: int(counts[right, b].sum())}
            entry["near_examples"] = examples

    ids = _example_ids(table, rows, sorted(wanted))
    for entry in report_pairs.values():
        for name in ("examples", "near_examples"):
            if name in entry:
                entry[name] = [_example(table, columns, splits, firsts, ids, *e) for e in entry[name]]
    total = {"exact_pairs": sum(p["exact_pairs"] for p in report_pairs.values())}
    if near_info is not None:
        total["near_pairs"] = sum(p["near_pairs"] for p in report_pairs.values())
    return {
        "columns": columns,
        "rows": {s: int(counts[:, i].sum()) for i, s in enumerate(splits)},
        "pairs": report_pairs,
        "total": total,
        "near": near_info,
    }


def _near_pairs(
    texts: pa.Array, counts: np.ndarray, unit: Unit, n: int, near: NearParams, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Verified near pairs (u < v) of distinct texts that can pair rows of two splits, and their Jaccard."""
    import numpy as np

    if counts.shape[1] < 2:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    # a text in one split pairs with the texts of other splits; a text in several, with every text
    single = (counts > 0).sum(axis=1) == 1
    groups = np.where(single, np.argmax(counts > 0, axis=1), counts.shape[1] + np.arange(len(texts)))
    try:
        left, right, similarity = confirmed_pairs(
            texts,
            unit,
            n,
            near.threshold,
            num_perm=near.num_perm,
            seed=seed,
            groups=groups,
            max_candidates=MAX_NEAR_CANDIDATES,
            normalized=True,
        )
    except TooManyCandidates:
        raise SpeccError(
            f"error: split: more than {MAX_NEAR_CANDIDATES} near-duplicate candidate pairs across splits; the data "
            f"holds large families of similar rows: remove them before the split (clean: {{type: near-dedup}}) "
            f"or leave `leakage.near` and `leakage.max_near` unset"
        ) from None
    return np.stack([left, right], axis=1), similarity


def _example_ids(
    table: pa.Table, rows: dict[str, np.ndarray], wanted: list[int]
) -> dict[tuple[int, int], tuple[list[str], int]]:
    """For each wanted text and split: the first EXAMPLES `_id`s (in table order) and how many rows."""
    import numpy as np

    if not wanted:
        return {}
    hit = np.flatnonzero(np.isin(rows["text"], wanted))
    found: dict[tuple[int, int], tuple[list[str], int]] = {}
    id_column = table.column("_id")
    for t, s, r in zip(rows["text"][hit].tolist(), rows["split"][hit].tolist(), rows["row"][hit].tolist()):
        shown, count = found.get((t, s), ([], 0))
        if len(shown) < EXAMPLES:
            shown.append(str(id_column[r].as_py()))
        found[(t, s)] = (shown, count + 1)
    return found


def _example(
    table: pa.Table,
    columns: Sequence[str],
    splits: list[str],
    firsts: np.ndarray,
    ids: dict[tuple[int, int], tuple[list[str], int]],
    kind: str,
    what: Any,
    a: int,
    b: int,
) -> dict[str, Any]:
    """One example as JSON: the text(s), up to EXAMPLES ids per split and the rows per split."""
    if kind == "exact":
        t = what
        first = int(min(firsts[t, a], firsts[t, b]))
        return {
            "text": _shown(table, columns, first),
            "ids": {splits[a]: ids[(t, a)][0], splits[b]: ids[(t, b)][0]},
            "rows": {splits[a]: ids[(t, a)][1], splits[b]: ids[(t, b)][1]},
        }
    x, y, similarity = what
    return {
        "jaccard": similarity,
        "texts": {
            splits[a]: _shown(table, columns, int(firsts[x, a])),
            splits[b]: _shown(table, columns, int(firsts[y, b])),
        },
        "ids": {splits[a]: ids[(x, a)][0], splits[b]: ids[(y, b)][0]},
        "rows": {splits[a]: ids[(x, a)][1], splits[b]: ids[(y, b)][1]},
    }


# --- limits and display -----------------------------------------------------------------------


def _example_lines(example: dict[str, Any]) -> list[str]:
    """An example as indented lines: the text(s) quoted, then the ids per split."""

    def ids(split: str) -> str:
        shown, count = example["ids"][split], example["rows"][split]
        more = f" (+{count - len(shown)} more)" if count > len(shown) else ""
        return f"{split}: {', '.join(shown)}{more}"

    splits = list(example["ids"])
    if "text" in example:
        return [f"    {json.dumps(example['text'], ensure_ascii=False)}", f"      {'; '.join(ids(s) for s in splits)}"]
    lines = [f"    jaccard {example['jaccard']}:"]
    lines += [f"      {ids(s)}: {json.dumps(example['texts'][s], ensure_ascii=False)}" for s in splits]
    return lines


def _plural(n: int, noun: str) -> str:
    """'1 pair', '2 pairs'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_leakage(report: dict[str, Any], limits: LeakageParams) -> None:
    """Raise a SpeccError listing the offending split pairs and examples when a limit is exceeded."""
    messages = []
    checks = [
        (
            "exact",
            "max_exact",
            "exact-duplicate",
            "deduplicate before the split (clean: {type: dedup}), split by a group column so copies share "
            "a split, or raise leakage.max_exact",
        ),
        (
            "near",
            "max_near",
            "near-duplicate",
            "remove near duplicates before the split (clean: {type: near-dedup}), split by a group column, "
            "or raise leakage.max_near",
        ),
    ]
    for kind, limit_name, what, fix in checks:
        limit = getattr(limits, limit_name)
        if limit is None:
            continue
        if kind == "near" and report.get("near") is None:
            raise SpeccError(
                "error: split: leakage.max_near is set but the near-duplicate check did not run "
                "(executor bug: pass `near` to leakage_report)"
            )
        found = report["total"][f"{kind}_pairs"]
        if found <= limit:
            continue
        verb = "exceeds" if found == 1 else "exceed"
        lines = [f"error: split: {_plural(found, what + ' pair')} across splits {verb} leakage.{limit_name} {limit}:"]
        for name, entry in report["pairs"].items():
            pairs = entry[f"{kind}_pairs"]
            if not pairs:
                continue
            rows = ", ".join(f"{_plural(n, s + ' row')}" for s, n in entry[f"{kind}_rows"].items())
            lines.append(f"  {name}: {_plural(pairs, 'pair')} ({rows})")
            for example in entry["examples" if kind == "exact" else "near_examples"]:
                lines += _example_lines(example)
        near = report.get("near")
        if kind == "near" and near:
            lines.append(f"  (Jaccard >= {near['threshold']} over {near['ngram']}-{near['unit']} n-grams)")
        lines.append(f"  fix: {fix}")
        messages.append("\n".join(lines))
    if messages:
        raise SpeccError("\n".join(messages))


def _counts(rows: dict[str, int]) -> str:
    """'train: 3, test: 2'."""
    return ", ".join(f"{split}: {n}" for split, n in rows.items())


def leakage_markdown(report: dict[str, Any]) -> str:
    """A Markdown table of the report for the dataset card: one line per pair of splits."""
    near = report.get("near") is not None
    head = "| Splits | Exact-duplicate pairs | Rows involved |"
    head += " Near-duplicate pairs | Rows involved |" if near else ""
    rule = "|---|---:|---|" + ("---:|---|" if near else "")
    lines = [head, rule]
    for name, entry in report["pairs"].items():
        line = f"| {name} | {entry['exact_pairs']} | {_counts(entry['exact_rows'])} |"
        if near:
            line += f" {entry['near_pairs']} | {_counts(entry['near_rows'])} |"
        lines.append(line)
    return "\n".join(lines)
