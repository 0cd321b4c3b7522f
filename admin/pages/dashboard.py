"""Dashboard: today's funnel and what waits for someone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from admin.web import SessionDep, StaffDep, render, require_section
from lending.dashboard.service import dashboard_service

router = APIRouter(prefix="/dashboard", dependencies=[require_section("dashboard")])


@router.get("")
async def page(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    today = await dashboard_service.today(session, staff.actor)
    return render(
        request,
        "dashboard.html",
        {"staff": staff, "current": "dashboard", "title": "Dashboard", "today": today},
    )
