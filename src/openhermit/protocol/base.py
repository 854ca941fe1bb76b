"""The base of every wire model: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A JSON payload of the public API. Unknown fields are ignored, as the original does."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )

    def wire(self) -> dict[str, object]:
        """The JSON-ready dict of this model, without unset optional fields."""
        return self.model_dump(mode="json", exclude_none=True)


class StrictWireModel(WireModel):
    """A request body: unknown fields are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")
