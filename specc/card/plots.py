"""Plots for the dataset card: label distribution, regression target and text length per split, as deterministic PNGs.

matplotlib is imported lazily and used through its object API (`Figure` + `FigureCanvasAgg`):
no pyplot, no global figure state, the Agg renderer whatever the user's backend is. The PNG
bytes depend only on the data and the matplotlib version: fixed size and dpi, matplotlib's
default style (not the user's matplotlibrc), and no `Software` entry in the PNG metadata.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.text import holds_text

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from matplotlib.figure import Figure

PLOTS_DIR = "plots"
DPI = 100
MAX_CLASSES = 60  # label plots show the most frequent classes beyond this
VERTICAL_CLASSES = 12  # more classes than this are drawn as horizontal bars
MAX_NAME = 40  # longer class names are shortened on the axis (not in the alt text)
BINS = 40
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def plot_file_name(kind: str, column: str) -> str:
    """A plot's path relative to the output folder: `plots/<kind>-<column, safe for file names>.png`."""
    return f"{PLOTS_DIR}/{kind}-{_SAFE.sub('_', column).strip('_') or 'column'}.png"


def escape_text(text: str) -> str:
    """Plain text for matplotlib: no mathtext from `$` in label or column names."""
    return text.replace("$", r"\$")


def short_name(name: str) -> str:
    """A class name cut to MAX_NAME characters for an axis."""
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


@contextmanager
def png_figure(path: Path, **options: Any) -> Iterator[Figure]:
    """A Figure(**options) in matplotlib's default style, saved to `path` as PNG when the block ends."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # before the backend: the order the executor preloads them in

    defaults = {k: v for k, v in matplotlib.rcParamsDefault.items() if k not in ("backend", "interactive")}
    buffer = io.BytesIO()
    with matplotlib.rc_context(rc=defaults):
        figure = Figure(dpi=DPI, **options)
        yield figure
        FigureCanvasAgg(figure)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs for non-Latin names
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def row_chars(array: pa.Array) -> np.ndarray:
    """Characters per row: the string's length, or the summed lengths of the strings inside lists and structs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    kind = array.type
    if pa.types.is_dictionary(kind):
        return row_chars(array.cast(kind.value_type))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.utf8_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(n, dtype=np.int64)
        for child in array.flatten():  # the fields, sliced like the struct array
            total += row_chars(child)
        return total
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        values = array.flatten()
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        return np.bincount(parents, weights=row_chars(values), minlength=n).astype(np.int64)
    return np.zeros(n, dtype=np.int64)


def text_columns(schema: pa.Schema) -> list[str]:
    """The columns whose length is plotted: not internal (`_...`), holding text (also inside lists or structs)."""
    return [f.name for f in schema if not f.name.startswith("_") and holds_text(f.type)]


def label_plot(folder: Path, column: str, names: list[str], counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Grouped bars: the share of each class in each split (class names on the axis)."""
    import numpy as np

    splits = list(counts)
    totals = {s: sum(counts[s].values()) for s in splits}
    classes = list(names) + sorted({c for s in splits for c in counts[s]} - set(names))
    shown, note = classes, ""
    if len(classes) > MAX_CLASSES:
        overall = {c: sum(counts[s].get(c, 0) for s in splits) for c in classes}
        keep = set(sorted(classes, key=lambda c: (-overall[c], classes.index(c)))[:MAX_CLASSES])
        shown = [c for c in classes if c in keep]
        note = f" ({MAX_CLASSES} most frequent of {len(classes)} classes)"
    positions = np.arange(len(shown))
    bar = 0.8 / max(1, len(splits))
    labels = [escape_text(short_name(str(c))) for c in shown]
    horizontal = len(shown) > VERTICAL_CLASSES  # many classes: one row each, names readable
    size = (6.4, min(max(4.8, 1.4 + len(shown) * (0.1 + 0.1 * len(splits))), 40.0)) if horizontal else (6.4, 4.8)
    path = plot_file_name("labels", column)
    with png_figure(folder / path, figsize=size, layout="constrained") as figure:
        axes = figure.add_subplot()
        for i, split in enumerate(splits):
            share = [100.0 * counts[split].get(c, 0) / totals[split] if totals[split] else 0.0 for c in shown]
            offset = positions + (i - (len(splits) - 1) / 2) * bar
            label = escape_text(f"{split} ({totals[split]:,} rows)")
            if horizontal:
                axes.barh(offset, share, bar, label=label)
            else:
                axes.bar(offset, share, bar, label=label)
        value_axis, class_axis = (axes.xaxis, axes.yaxis) if horizontal else (axes.yaxis, axes.xaxis)
        if horizontal:
            axes.set_yticks(positions, labels)
            axes.set_ylim(len(shown) - 0.5, -0.5)  # the first class at the top
        else:
            axes.set_xticks(
                positions, labels, rotation=45 if len(shown) > 6 else 0, ha="right" if len(shown) > 6 else "center"
            )
        value_axis.set_label_text("share of the split's rows (%)")
        class_axis.set_label_text(escape_text(column))
        title = f"Classes of {column} per split{note}"
        axes.set_title(escape_text(title))
        figure.legend(loc="outside lower center", ncols=min(len(splits), 4) or 1, fontsize="small")
        axes.grid(axis="x" if horizontal else "y", alpha=0.3)
    summary = "; ".join(f"{s}: " + ", ".join(f"{c} {counts[s].get(c, 0):,}" for c in shown) for s in splits)
    return {
        "path": path,
        "title": title,
        "kind": "labels",
        "column": column,
        "alt": f"Grouped bar chart of the share of each class of {column} in each split. Rows per class: {summary}.",
    }


def _split_histograms(
    path: Path,
    values: dict[str, np.ndarray],
    edges: np.ndarray,
    color: str,
    median: Callable[[np.ndarray], str],
    xlabel: str,
    title: str,
) -> None:
    """One histogram panel per split on shared bins `edges`, each titled with its rows and median, into `path`."""
    import numpy as np

    panels = max(1, len(values))
    height = 1.4 + 1.6 * panels
    with png_figure(path, figsize=(6.4, height)) as figure:
        # only once matplotlib itself is loaded: a thread of the executor may be importing it meanwhile,
        # and matplotlib.ticker imported first would meet it half done (an import cycle across threads)
        from matplotlib.ticker import MaxNLocator

        # fixed margins (in inches) rather than a layout engine: the tick labels here are short,
        # and constrained layout would cost more than the drawing itself
        figure.subplots_adjust(
            left=0.8 / 6.4, right=1 - 0.2 / 6.4, top=1 - 0.75 / height, bottom=0.6 / height, hspace=0.55
        )
        axes_list = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
        for axes, (split, part) in zip(axes_list, values.items()):
            counts, _ = np.histogram(part, bins=edges)
            axes.stairs(counts, edges, fill=True, color=color)
            shown = f", median {median(part)}" if part.size else ""
            axes.set_title(escape_text(f"{split}: {part.size:,} rows{shown}"), fontsize="small", loc="left")
            axes.set_ylabel("rows")
            axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            axes.grid(axis="y", alpha=0.3)
        axes_list[-1].set_xlabel(xlabel)
        figure.suptitle(escape_text(title))


def length_plot(folder: Path, column: str, lengths: dict[str, np.ndarray]) -> dict[str, Any]:
    """One histogram of characters per row for each split, on shared bins."""
    import numpy as np

    splits = list(lengths)
    everything = np.concatenate([v for v in lengths.values()]) if splits else np.zeros(0)
    low, high = (int(everything.min()), int(everything.max())) if everything.size else (0, 0)
    width = max(1, -(-(high - low + 1) // BINS))  # whole characters per bin
    edges = low - 0.5 + width * np.arange(-(-(high - low + 1) // width) + 1)
    path = plot_file_name("length", column)
    title = f"Length of {column} per split"
    _split_histograms(
        folder / path, lengths, edges, "C0", lambda v: f"{int(np.median(v)):,}", "characters per row", title
    )
    described = "; ".join(
        f"{s}: min {int(v.min()):,}, median {int(np.median(v)):,}, max {int(v.max()):,}" if v.size else f"{s}: no rows"
        for s, v in lengths.items()
    )
    return {
        "path": path,
        "title": title,
        "kind": "length",
        "column": column,
        "alt": f"Histograms of the number of characters of {column} per row, one per split. {described}.",
    }


def target_plot(folder: Path, column: str, values: dict[str, np.ndarray]) -> dict[str, Any]:
    """One histogram of a numeric target for each split, on shared bins (regression)."""
    import numpy as np

    splits = list(values)
    everything = np.concatenate(list(values.values())) if splits else np.zeros(0)
    low, high = (float(everything.min()), float(everything.max())) if everything.size else (0.0, 1.0)
    edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1)
    path = plot_file_name("target", column)
    title = f"Distribution of the target {column} per split"
    _split_histograms(folder / path, values, edges, "C1", lambda v: f"{np.median(v):.4g}", escape_text(column), title)
    described = "; ".join(
        f"{s}: min {v.min():.4g}, median {np.median(v):.4g}, max {v.max():.4g}" if v.size else f"{s}: no rows"
        for s, v in values.items()
    )
    return {
        "path": path,
        "title": title,
        "kind": "target",
        "column": column,
        "alt": f"Histograms of the regression target {column}, one per split. {described}.",
    }


def write_plots(
    folder: Path,
    features: dict[str, Any],
    label_names: dict[str, list[str]],
    by_label: dict[str, dict[str, dict[str, int]]],
    parts: dict[str, pa.Table],
) -> list[dict[str, Any]]:
    """Write the card's plots into `folder/plots/`; returns one entry per plot for the card to link.

    `features` are the output's (`datasets.Features.to_dict()`), `by_label` each output split's rows per
    label of each label column (`SplitCounts.by_label`, in output order) and `parts` the rows of each
    split. Each entry has `path` (relative to `folder`), `title`, `alt`, `kind` ("labels" or "length")
    and `column`.
    """
    import datasets

    folder = Path(folder)
    schema = datasets.Features.from_dict(features).arrow_schema
    entries = []
    splits = list(by_label)
    # label_names, not the features: a format replaces the label columns, whose counts stay in by_label
    for column, names in sorted(label_names.items()):
        if any(column in by_label[s] for s in splits):
            counts = {s: dict(by_label[s].get(column, {})) for s in splits}
            entries.append(label_plot(folder, column, list(names), counts))
    for column in sorted(text_columns(schema)):
        lengths = {s: row_chars(parts[s].column(column).combine_chunks()) for s in splits}
        entries.append(length_plot(folder, column, lengths))
    return entries
