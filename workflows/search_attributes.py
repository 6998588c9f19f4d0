"""The journey's custom search attributes as typed keys, their values for an account, and
their registration with a server. None holds personal data: ids, segment, stage, health,
the TA's handle, tier and renewal date only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from journey.domain.models import Account
from journey.domain.names import SEARCH_ATTRIBUTES, SearchAttribute

STAGE = SearchAttributeKey.for_keyword(SearchAttribute.STAGE)
SEGMENT = SearchAttributeKey.for_keyword(SearchAttribute.SEGMENT)
HEALTH = SearchAttributeKey.for_keyword(SearchAttribute.HEALTH)
MODEL = SearchAttributeKey.for_keyword(SearchAttribute.MODEL)
TA = SearchAttributeKey.for_keyword(SearchAttribute.TA)
TIER = SearchAttributeKey.for_int(SearchAttribute.TIER)
RENEWAL = SearchAttributeKey.for_datetime(SearchAttribute.RENEWAL)

KEYS: tuple[SearchAttributeKey[Any], ...] = (STAGE, SEGMENT, HEALTH, MODEL, TA, TIER, RENEWAL)
assert {key.name for key in KEYS} == set(SEARCH_ATTRIBUTES), "every search attribute has its key"


def account_attributes(account: Account, stage: str, health: str) -> list[tuple[SearchAttributeKey[Any], Any]]:
    """Every search attribute's value for an account in this stage and health."""
    renewal = datetime(account.renewal.year, account.renewal.month, account.renewal.day, tzinfo=UTC)
    return [
        (STAGE, stage),
        (HEALTH, health),
        (SEGMENT, account.segment.value),
        (MODEL, account.engagement_model.value),
        (TA, account.ta),
        (TIER, account.tier),
        (RENEWAL, renewal),
    ]


def typed_attributes(account: Account, stage: str = "signed", health: str = "green") -> TypedSearchAttributes:
    """The search attributes a journey starts with."""
    return TypedSearchAttributes([SearchAttributePair(key, value) for key, value in account_attributes(account, stage, health)])


async def register_search_attributes(client: Client) -> None:
    """Register every custom search attribute with the client's server (the time-skipping
    server needs it; the dev server is started with them). A workflow that upserts an
    attribute its server does not know gets stuck."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in KEYS},
        )
    )
