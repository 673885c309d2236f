"""`self-instruct`: instruction/input/output rows a language model writes from seed tasks."""

from __future__ import annotations

from specc.plugin import Source, SourceParams


class SelfInstructParams(SourceParams):
    """Options of `self-instruct`."""


class SelfInstruct(Source):
    """Rows of new tasks made as in the self-instruct paper, from a file of seed tasks."""

    name = "self-instruct"
    Params = SelfInstructParams
    params: SelfInstructParams
