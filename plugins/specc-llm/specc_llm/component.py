"""The base of every language-model component: its endpoint's client, made on first use, and the lock's pin.

The client's module (asyncio, sqlite3, openai on first request) is imported only when a build asks or pins, so
`specc validate` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from specc.plugin import Component

if TYPE_CHECKING:
    from specc_llm.client import LanguageModel


class UsesLanguageModel(Component):
    """A component whose Params inherit LlmParams: the client of its endpoint, and the lock's pin of its model."""

    @cached_property
    def model(self) -> LanguageModel:
        """The client of this component's endpoint."""
        from specc_llm.client import LanguageModel

        return LanguageModel(self)

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The model as the endpoint reports it (or the local folder's file hashes)."""
        return self.model.pin(locked)
