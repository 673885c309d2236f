"""Placeholder: the leakage report (in progress)."""

from pydantic import Field

from specc.components import Params


class LeakageParams(Params):
    """Limits on rows shared between splits; the build fails with the report when one is exceeded."""

    max_exact: int | None = Field(None, ge=0, description="Most exact-duplicate pairs allowed across splits.")
    max_near: int | None = Field(None, ge=0, description="Most near-duplicate pairs allowed across splits.")
