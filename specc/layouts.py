"""The shapes formatted chat rows take: roles, their names per layout, and each layout's column and turn keys.

Formatters write them and token counters read them, so both import them from here.
"""

from __future__ import annotations

ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
# every role name a layout writes -> the role it is
KNOWN_ROLES = {**{role: role for role in ROLES}, **{name: role for role, name in SHAREGPT_ROLES.items()}}
# chat column -> the keys of its turns (role, content)
CHAT_LAYOUTS: dict[str, tuple[str, str]] = {"messages": ("role", "content"), "conversations": ("from", "value")}
