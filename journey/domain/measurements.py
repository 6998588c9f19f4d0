"""What the product and the surveys report about an account: daily usage and NPS answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from journey.domain.bounds import Day, Name, Reference, UserCount


class UsageRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: Reference
    date: Day
    # mau before dau: fields validate in order, so dau's check can see mau and the
    # problem is reported on field 'dau' rather than on the whole row.
    mau: UserCount
    dau: UserCount

    @field_validator("dau")
    @classmethod
    def _dau_within_mau(cls, dau: int, info: ValidationInfo) -> int:
        mau = info.data.get("mau")
        if mau is not None and dau > mau:
            raise ValueError(f"dau {dau} is greater than mau {mau}")
        return dau


class NpsRow(BaseModel):
    """One survey answer: `account,date,score` and an optional `respondent`."""

    model_config = ConfigDict(extra="forbid")

    account: Reference
    date: Day
    score: int = Field(ge=0, le=10)
    respondent: Name | None = None
