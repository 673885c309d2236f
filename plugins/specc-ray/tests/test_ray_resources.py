"""`resources:` per step are operational: they change no fingerprint, so a lock does not go stale."""

from __future__ import annotations

from pathlib import Path

from ray_testing import copy_specs, with_resources

from specc.builder import plan_changes


def test_resources_change_no_fingerprint(tmp_path: Path) -> None:
    spec = copy_specs(tmp_path) / "quickstart.yaml"
    before, changes_before, _, _ = plan_changes(spec)
    with_resources(spec)
    after, changes, _, _ = plan_changes(spec)
    assert [s.fingerprint for s in after.steps] == [s.fingerprint for s in before.steps]
    assert [c.status for c in changes] == [c.status for c in changes_before]  # nothing new against the lock
    steps = {s.id: s for s in after.steps}
    assert steps["clean.normalize"].operational == {"resources": {"num_cpus": 2.0}}
    assert steps["clean.dedup"].operational == {"resources": {"num_cpus": 0.5, "num_gpus": 0.0}}
    assert "resources" not in steps["clean.dedup"].fingerprinted_params()
    assert steps["clean.length"].operational == {}
