"""Billing runs (admin): start, progress, readings to review, close."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.runs.schemas import (
    PageQuery,
    ReadingsQuery,
    ReleasedReading,
    ReleaseReading,
    RunReadingPage,
    RunView,
    SilentMeterPage,
    StartedRun,
    StartRun,
)
from functions.core.runs.service import RunService

bp = Blueprint(__name__)


@route(bp, "/admin/runs", methods=["POST"], access=Access.ADMIN, body=StartRun,
       response=StartedRun, status=202,
       summary="Start the billing run of a period (again: ask only meters still unbilled); "
               "the meters are listed and asked in the background")
def start_run(caller: Caller, body: StartRun) -> StartedRun:
    return RunService().start(body, started_by=caller.user_id)


@route(bp, "/admin/runs", access=Access.ADMIN, response=list[RunView],
       summary="Every billing run, newest period first")
def list_runs(caller: Caller) -> list[RunView]:
    return RunService().all()


@route(bp, "/admin/runs/{run_id}", access=Access.ADMIN, response=RunView,
       summary="Progress of a run: meters asked, answered, silent, rejected, held, billed")
def run_progress(run_id: str, caller: Caller) -> RunView:
    return RunService().view(run_id)


@route(bp, "/admin/runs/{run_id}/readings", access=Access.ADMIN, query=ReadingsQuery,
       response=RunReadingPage,
       summary="A page of a run's readings with their verdict and reason (rejected, held, ...)")
def run_readings(run_id: str, caller: Caller, query: ReadingsQuery) -> RunReadingPage:
    return RunService().run_readings(run_id, query.status, query.cursor, query.limit)


@route(bp, "/admin/runs/{run_id}/silent-meters", access=Access.ADMIN, query=PageQuery,
       response=SilentMeterPage,
       summary="A page of the meters that stayed silent, with the policy's outcome for each")
def silent_meters(run_id: str, caller: Caller, query: PageQuery) -> SilentMeterPage:
    return RunService().silent_meters(run_id, query.cursor, query.limit)


@route(bp, "/admin/runs/{run_id}/readings/release", methods=["POST"], access=Access.ADMIN,
       body=ReleaseReading, response=ReleasedReading,
       summary="Decide on a reading held for review: bill it or reject it")
def release_reading(run_id: str, caller: Caller, body: ReleaseReading) -> ReleasedReading:
    return RunService().release(run_id, body)


@route(bp, "/admin/runs/{run_id}/close", methods=["POST"], access=Access.ADMIN,
       response=RunView, status=202,
       summary="Close a run: the silent meters are listed and the run's policy applied to "
               "them in the background (phase closing, then closed)")
def close_run(run_id: str, caller: Caller) -> RunView:
    return RunService().close(run_id, closed_by=caller.user_id)
