"""The data converter of every `journey` client: worker, CLI, simulations, tests, replay.

Pydantic JSON on the wire, exactly as `temporalio.contrib.pydantic.pydantic_data_converter`
writes it, with one difference: the SDK makes a payload converter for every workflow run,
and pydantic's keeps a cache of type adapters per converter, so every cached journey held
its own compiled validators for its input, its state and its activity results (tens of
KiB each). Here the type adapters are built once per process and shared, which is safe:
an adapter holds nothing but the compiled schema of its type.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)


@functools.lru_cache(maxsize=1024)
def _type_adapter(type_hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_hint)


class SharedPydanticJSONConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic JSON whose type adapters are shared by every converter in the process."""

    def __init__(self) -> None:
        super().__init__(max_cached_type_adapters=0)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = type_hint if type_hint is not None else Any
        try:
            adapter = _type_adapter(hint)
        except TypeError:  # an unhashable type hint: built for this call alone
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data)


class JourneyPayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings, with pydantic JSON in place of plain JSON."""

    def __init__(self) -> None:
        json_converter = SharedPydanticJSONConverter()
        super().__init__(
            *(
                json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=JourneyPayloadConverter)
