"""The data converter of every `journey` client: worker, CLI, simulations, tests, replay.

Pydantic JSON on the wire, exactly as `temporalio.contrib.pydantic.pydantic_data_converter`
writes it, with one difference: the SDK makes a payload converter for every workflow run,
and pydantic's keeps a cache of type adapters per converter, so every cached journey held
its own compiled validators for its input, its state and its activity results (tens of
KiB each). Here the type adapters are built once per process and shared, which is safe:
an adapter holds nothing but the compiled schema of its type.

With an encryption key (`journey.config.encryption_keys`), every payload is encrypted by
`journey.temporal.codec.EncryptionCodec`, and failures carry their message and stack trace
in an encrypted payload too (the SDK's `encode_common_attributes`). Without one, payloads
and failures are exactly as they always were; the codec only names the missing key when an
encrypted payload comes in.
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
    DefaultFailureConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    FailureConverter,
    JSONPlainPayloadConverter,
)

from journey.config import KeyRing, encryption_keys
from journey.temporal.codec import EncryptionCodec


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


def journey_data_converter(ring: KeyRing | None = None) -> DataConverter:
    """Pydantic JSON, encrypted with `ring`'s first key when it has one."""
    ring = ring or KeyRing()
    failures: type[FailureConverter] = (
        DefaultFailureConverterWithEncodedAttributes if ring.keys else DefaultFailureConverter
    )
    return DataConverter(
        payload_converter_class=JourneyPayloadConverter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=failures,
    )


# Without a key: what tests and benchmarks use, and what every client used before keys.
data_converter = journey_data_converter()


def configured_data_converter() -> DataConverter:
    """The converter of the keys in the environment (JOURNEY_ENCRYPTION_KEY or
    JOURNEY_ENCRYPTION_KEY_FILE); a bad setting is an `InputError` naming it."""
    return journey_data_converter(encryption_keys())
