"""The `journey` group and its one error map.

Every command lets the domain's exceptions rise; `JourneyGroup.invoke` turns them into
what a user reads: bad input and unknown names exit with status 2 and the message (which
names the field, the row or the line; nothing was written; a bad setting, such as a
malformed JOURNEY_DATABASE_URL or an `--out` that cannot be written, is bad input too), an
unreachable, overloaded or silent Temporal or an unreachable database exits with status 1
and one line saying where it looked and what to check. No command shows a traceback for
any of these.
"""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError

from journey.cli.common import BadInput, Failure
from journey.config import DatabaseUnreachable
from journey.domain.errors import InputError, NotFound, describe_validation_error
from journey.temporal.errors import JourneyUnavailable, Unreachable


class JourneyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InputError, NotFound) as err:
            raise BadInput(str(err)) from None
        except ValidationError as err:
            raise BadInput(describe_validation_error(err, prefix=f"{ctx.invoked_subcommand}: ")) from None
        except (Unreachable, JourneyUnavailable, DatabaseUnreachable) as err:
            raise Failure(str(err)) from None
        except click.ClickException:
            raise
        except Exception as err:
            # Temporal's own errors (a timeout, an overloaded or vanished server), classified
            # where the client lives; its modules are loaded only by commands that talked to it.
            from journey.temporal.client import service_failure

            message = service_failure(err)
            if message is None:
                raise
            raise Failure(message) from None
