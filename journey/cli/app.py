"""The `journey` group and its one error map.

Every command lets the domain's exceptions rise; `JourneyGroup.invoke` turns them into
what a user reads: bad input and unknown names exit with status 2 and the message (which
names the field, the row or the line; nothing was written), an unreachable Temporal exits
with status 1 and one line saying where it looked and how to start one.
"""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError

from journey.cli.common import BadInput, Failure
from journey.domain.errors import InputError, NotFound, describe_validation_error
from journey.temporal.errors import Unreachable


class JourneyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InputError, NotFound) as err:
            raise BadInput(str(err)) from None
        except ValidationError as err:
            raise BadInput(describe_validation_error(err, prefix=f"{ctx.invoked_subcommand}: ")) from None
        except Unreachable as err:
            raise Failure(str(err)) from None
