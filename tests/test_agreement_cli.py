"""`specc agreement FILE --format …`: every metric, as a table or JSON, checked against reference libraries."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from tests.conftest import run_cli, write

# 10 items × 3 annotators, every cell filled
ROWS = [
    ("t1", "pos", "pos", "pos"),
    ("t2", "neg", "neg", "pos"),
    ("t3", "neu", "neg", "neg"),
    ("t4", "pos", "pos", "neu"),
    ("t5", "neg", "neg", "neg"),
    ("t6", "neu", "neu", "pos"),
    ("t7", "pos", "neg", "neu"),
    ("t8", "pos", "pos", "pos"),
    ("t9", "neg", "neu", "neg"),
    ("t10", "neu", "neu", "neu"),
]
ANNOTATORS = ["ann_a", "ann_b", "ann_c"]
FAST = ["--resamples", "100"]


def expected(rows: list[tuple]) -> dict[str, float]:
    """The metrics computed by the reference libraries from the raw label rows."""
    labels = [list(row[1:]) for row in rows]
    counts, _ = aggregate_raters(np.array(labels, dtype=object))
    domain = sorted({label for row in labels for label in row})
    coded = [[float(domain.index(label)) for label in column] for column in zip(*labels)]
    values = {
        "items": len(rows),
        "annotators": len(labels[0]),
        "percent_agreement": float(np.mean([Counter(row).most_common(1)[0][1] / len(row) for row in labels])),
        "fleiss_kappa": float(statsmodels_fleiss(counts)),
        "krippendorff_alpha": float(krippendorff.alpha(coded, level_of_measurement="nominal")),
    }
    if len(labels[0]) == 2:
        values["cohen_kappa"] = float(cohen_kappa_score([r[0] for r in labels], [r[1] for r in labels]))
    return values


def check(stdout: str, rows: list[tuple]) -> dict:
    report = json.loads(stdout)
    for key, value in expected(rows).items():
        assert report[key] == pytest.approx(value, rel=1e-12), key
    if report["annotators"] != 2:
        assert "cohen_kappa" not in report
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha"):
        low, high = report["ci"][key]
        assert low <= report[key] <= high
    return report


def test_wide_csv(tmp_path: Path) -> None:
    lines = ["id,text," + ",".join(ANNOTATORS)] + [f"{r[0]},some text,{','.join(r[1:])}" for r in ROWS]
    path = write(tmp_path / "wide.csv", "\n".join(lines) + "\n")
    result = run_cli("agreement", str(path), "--format", "wide-csv", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    report = check(result.stdout, ROWS)
    assert report["problems"] == {} and result.stderr == ""

    table = run_cli("agreement", "wide.csv", "--format", "wide-csv", *FAST, "--seed", "3", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "wide.csv: 10 items, 3 annotators, 30 annotations (3.0 per item, min 3, max 3)"
    assert lines[1] == "labels: neg, neu, pos"
    assert "95% CI (100 resamples, seed 3)" in lines[3]
    shown = {line[:34].strip(): line[34:42].strip() for line in lines[4:]}
    assert shown == {
        "percent agreement": f"{report['percent_agreement']:.4f}",
        "Fleiss' kappa": f"{report['fleiss_kappa']:.4f}",
        "Krippendorff's alpha (nominal)": f"{report['krippendorff_alpha']:.4f}",
    }


def test_long_csv_with_two_annotators_and_a_duplicate(tmp_path: Path) -> None:
    rows = [row[:3] for row in ROWS]
    body = [f"{item},{annotator},{label}" for item, *labels in rows for annotator, label in zip(ANNOTATORS, labels)]
    path = write(tmp_path / "long.csv", "\n".join(["item,annotator,label", *body, "t3,ann_a,pos"]) + "\n")
    result = run_cli("agreement", str(path), "--format", "long-csv", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    report = check(result.stdout, rows)
    assert "cohen_kappa" in report and report["problems"] == {"duplicate": 1}
    assert result.stderr == (
        f"{path}:22: warning: duplicate: item 't3' labelled again by 'ann_a' ('pos'; the first "
        f"label, 'neu' on line 6, is kept)\n"
    )


def test_label_studio_export_with_three_annotators(tmp_path: Path) -> None:
    users = [{"id": 11, "email": "ana@example.org"}, {"id": 12, "email": "ben@example.org"}, 13]
    tasks = []
    for n, (item, *labels) in enumerate(ROWS + [("t11", None, None, None)]):
        annotations = [
            {
                "id": 100 * n + k,
                "completed_by": user,
                "was_cancelled": label is None,
                "ground_truth": False,
                "result": []
                if label is None
                else [
                    {
                        "id": f"r{n}{k}",
                        "from_name": "sentiment",
                        "to_name": "text",
                        "type": "choices",
                        "origin": "manual",
                        "value": {"choices": [label]},
                    }
                ],
            }
            for k, (user, label) in enumerate(zip(users, labels))
        ]
        tasks.append(
            {"id": n + 1, "data": {"_id": item, "text": f"text {n}"}, "annotations": annotations, "predictions": []}
        )
    path = write(tmp_path / "export.json", json.dumps(tasks, indent=2))
    result = run_cli("agreement", str(path), "--format", "label-studio", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    report = check(result.stdout, ROWS)
    assert report["problems"] == {"cancelled": 3} and report["annotations"] == 30
    assert result.stderr.count("warning: cancelled:") == 3


def test_ordinal_level(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", "id,r1,r2,r3\n1,low,mid,mid\n2,high,high,mid\n3,low,low,\n4,mid,high,high\n")
    result = run_cli(
        "agreement", str(path), "--format", "wide-csv", "--json", "--level", "ordinal", "--order", "low,mid,high", *FAST
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    data = [[0, 2, 0, 1], [1, 2, 0, 2], [1, 1, np.nan, 2]]
    assert report["krippendorff_alpha_ordinal"] == pytest.approx(
        krippendorff.alpha(data, value_domain=[0, 1, 2], level_of_measurement="ordinal"), rel=1e-12
    )


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", "name,a,b\nx,1,2\n")
    result = run_cli("agreement", str(path), "--format", "wide-csv")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:1: error: no item column (_id, id, item) among the columns name, a, b; name it with --item (item=)"
    ]
    wrong = run_cli("agreement", str(path), "--format", "csv")
    assert wrong.returncode == 2 and "'csv' is not one of 'wide-csv', 'long-csv', 'label-studio'" in wrong.stderr
