"""A build on Ray: the local executor's units and step cache, with a pool whose work runs on the cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from specc.plugin import BuildOptions, BuildResult, Groups, Plan


def run_on_ray(plan: Plan, options: BuildOptions, address: str | None) -> BuildResult:
    """Build `plan` with its batches and global steps on the Ray cluster at `address`."""
    from specc.plugin import run_local
    from specc_ray.cluster import check_nodes, connected
    from specc_ray.pool import RayPool

    with connected(address):

        def pool(num_proc: int, groups: Groups) -> RayPool:
            global_steps = [
                plan.instantiate(s)
                for s in plan.row_steps()
                if s.component.cls.scope == "global"  # type: ignore[union-attr]
            ]
            check_nodes(plan, [c for group in groups.values() for c in group] + global_steps)
            options.report("running on Ray; its progress follows")
            return RayPool(plan, groups)

        return run_local(plan, options, pool_factory=pool)  # type: ignore[arg-type]
