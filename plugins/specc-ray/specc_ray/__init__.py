"""specc-ray: `specc build --executor ray [--ray-address ADDR]` runs a plan on Ray Data, with the same bytes.

Importing this module imports no Ray; the executor imports it when a build starts.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

import specc
from specc.plugin import Executor


class RayExecutor(Executor):
    """Runs the row-wise work and the global steps of a plan on a Ray cluster; the output is the local executor's."""

    name = "ray"

    class Params(specc.Params):
        """Where the cluster is."""

        address: str | None = Field(
            None,
            description="The Ray cluster (HOST:PORT of its head); default "
            "$RAY_ADDRESS, else the cluster `ray start` started on this "
            "machine, else a new Ray instance for the build.",
        )

    def run(self, plan: Any, options: Any) -> Any:
        """Connect, check that every node can run the plan's components, then build through the step cache."""
        from specc_ray.executor import run_on_ray

        return run_on_ray(plan, options, self.params.address)


@specc.hookimpl
def register_executors(register: Any) -> None:
    """Register the `ray` executor."""
    register(RayExecutor)


@specc.hookimpl
def register_commands(cli: Any) -> None:
    """Give `specc build` the option --ray-address."""
    from specc.plugin import add_executor_option

    add_executor_option(
        cli,
        "--ray-address",
        key="address",
        help="With --executor ray: the cluster's HOST:PORT (default $RAY_ADDRESS, else the "
        "cluster `ray start` started here, else a new local Ray instance).",
    )
