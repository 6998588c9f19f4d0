"""Worker Versioning: every worker runs as one version of a Temporal Worker Deployment.

A worker polls as `<deployment>.<build id>` (`journey.config.worker_version`). The server
sends new workflows, and the next task of every auto-upgrade workflow, to the deployment's
*current* version; a pinned workflow stays on the version it started on. Each workflow
declares which it is on its `@workflow.defn`: the journeys and their remediations live for
years and move to new code (AUTO_UPGRADE, so every change to them stays guarded by
`workflow.patched` and the replay tests), the sweeps last minutes and finish on the code
they started with (PINNED).

Versioning is on for every worker, because a workflow that declares a behaviour cannot run
on an unversioned worker: the server refuses such a worker's task completions. That needs
one step no operator should have to take on a fresh install: a deployment that has never
had a current version would route every workflow to unversioned workers, that is, to none.
So a worker that finds its deployment so makes its own version current (`CurrentVersion`,
a worker plugin). Once a current version was ever chosen, by a worker or by an operator
(even `--unversioned`), a worker never changes it; rolling out a new build is the
operator's `temporal worker deployment set-current-version` (docs/operations.md). `journey
up`, which runs the embedded server and its only worker, always makes its version current.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionMessage
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.plugin import SimplePlugin
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from journey.config import WorkerVersion

log = logging.getLogger(__name__)

# How long a worker keeps trying to make its version current: the server accepts it only
# once the version's pollers have registered (a fraction of a second after they start).
CLAIM_PATIENCE_S = 30.0
CLAIM_RETRY_S = 0.5
# Answers that may change on their own: the version not registered yet (its pollers have
# just started), another worker changing the deployment at the same moment, a busy server.
_PASSING = {
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.ABORTED,
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


def deployment_config(version: WorkerVersion) -> WorkerDeploymentConfig:
    """Versioned polling as `version`. No default behaviour: the SDK then refuses to start a
    worker with a workflow that does not declare its own, so none is versioned by accident."""
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=version.deployment, build_id=version.build_id),
        use_worker_versioning=True,
    )


@dataclass(frozen=True)
class VersionState:
    """Where a worker's version stands in its deployment, as the worker found (or left) it."""

    version: WorkerVersion
    current: str | None = None  # the current version, `deployment.build_id`; None: unversioned workers
    ramping: str | None = None
    ramping_percent: float = 0.0
    made_current: bool = False
    # False on a server without Worker Deployments (the time-skipping test server).
    supported: bool = True
    error: str | None = None

    @property
    def is_current(self) -> bool:
        return self.current == str(self.version)

    def describe(self) -> str:
        """One line for the worker's log."""
        version = str(self.version)
        if not self.supported:
            return f"version {version}: this server has no Worker Deployments; versioning is off"
        if self.error is not None:
            return f"version {version}: could not check the deployment's current version: {self.error}"
        if self.made_current:
            return f"version {version} is now the current version of deployment {self.version.deployment}"
        if self.is_current:
            return f"version {version} is the current version of deployment {self.version.deployment}"
        ramping = f"; ramping to it: {self.ramping_percent:g}% of new work" if self.ramping == version else ""
        return (
            f"version {version} is not current (current: {self.current or 'unversioned workers'}{ramping}): it runs "
            f"only the workflows pinned to it until made current with `temporal worker deployment set-current-version "
            f"--deployment-name {self.version.deployment} --build-id {self.version.build_id}`"
        )


async def describe_deployment(client: Client, deployment: str) -> DescribeWorkerDeploymentResponse | None:
    """The deployment as the server knows it; None when it does not exist yet."""
    request = DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
    try:
        return await client.workflow_service.describe_worker_deployment(request)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _canonical(version: VersionMessage) -> str | None:
    return f"{version.deployment_name}.{version.build_id}" if version.build_id else None


def _state(version: WorkerVersion, described: DescribeWorkerDeploymentResponse | None) -> VersionState:
    if described is None:
        return VersionState(version)
    routing = described.worker_deployment_info.routing_config
    return VersionState(
        version,
        current=_canonical(routing.current_deployment_version),
        ramping=_canonical(routing.ramping_deployment_version),
        ramping_percent=routing.ramping_version_percentage,
    )


def _never_chosen(described: DescribeWorkerDeploymentResponse | None) -> bool:
    """No current version was ever set: a new deployment, or one only workers have polled.
    An operator who chose unversioned workers on purpose leaves a change time behind."""
    if described is None:
        return True
    routing = described.worker_deployment_info.routing_config
    return not routing.current_deployment_version.build_id and not routing.HasField("current_version_changed_time")


async def ensure_current_version(
    client: Client, version: WorkerVersion, *, take_over: bool = False, patience: float = CLAIM_PATIENCE_S
) -> VersionState:
    """Make `version` its deployment's current version when the deployment never had one
    (or always, with `take_over`); report where it stands. Never raises for the server's
    answers: a worker whose version is not current still runs its pinned workflows."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            described = await describe_deployment(client, version.deployment)
            state = _state(version, described)
            unclaimed = _never_chosen(described)
            if state.is_current or not (take_over or unclaimed):
                return state
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=version.deployment,
                    build_id=version.build_id,
                    # Whoever changed the deployment since we looked wins; we look again.
                    conflict_token=described.conflict_token if described is not None else b"",
                    identity=client.identity,
                    # A deployment nobody chose for: route to this version at once, before
                    # its pollers have registered, so no workflow started meanwhile waits.
                    # Taking over keeps the server's check that this version polls every
                    # task queue the current one does.
                    allow_no_pollers=unclaimed,
                )
            )
            return VersionState(version, current=str(version), made_current=True)
        except RPCError as err:
            if err.status == RPCStatusCode.UNIMPLEMENTED:
                return VersionState(version, supported=False)
            if err.status not in _PASSING or loop.time() > deadline:
                return VersionState(version, error=f"{err.status.name}: {err.message}")
        await asyncio.sleep(CLAIM_RETRY_S)


class CurrentVersion(SimplePlugin):
    """A worker plugin: once the worker runs, `ensure_current_version`, then `report`."""

    def __init__(
        self, client: Client, version: WorkerVersion, *, take_over: bool = False, report: Callable[[VersionState], None] | None = None
    ) -> None:
        self.client = client
        self.version = version
        self.take_over = take_over
        self.report = report or _log_state
        super().__init__("journey.CurrentVersion", run_context=self._claiming)

    @asynccontextmanager
    async def _claiming(self) -> AsyncIterator[None]:
        # Beside the polling, not before it: taking over from another version needs this
        # version's pollers registered.
        claim = asyncio.create_task(self._claim())
        try:
            yield
        finally:
            claim.cancel()

    async def _claim(self) -> None:
        self.report(await ensure_current_version(self.client, self.version, take_over=self.take_over))


def _log_state(state: VersionState) -> None:
    level = logging.INFO if state.is_current or not state.supported else logging.WARNING
    log.log(level, "%s", state.describe())
