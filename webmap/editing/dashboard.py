"""The editor's dashboard, "My listings": where everyone lands after signing in. Each service
of the person's organizations (every organization for moderators and admins, searchable and a
page at a time) with its verification date, a stale badge, its pending and rejected changes,
and one-click forms — beds available now, "Nothing changed — verify" — that post to the
editing routes (:mod:`webmap.editing.edit`) and come back here. An editor also sees the open
reports of problems with their organizations' listings (moderators see them in their queue)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from caremap import reports
from caremap.accounts import can_moderate
from caremap.dashboard import Filters, listings
from webmap import get_store, url_with
from webmap.accounts.auth import requires, signed_in
from webmap.common.params import integer, text
from webmap.common.searching import clock
from webmap.editing.edit import CapacityForm
from webmap.reports.routes import report_views

bp = Blueprint("dashboard", __name__, url_prefix="/edit")
MAX_QUERY = 200


@bp.get("/")
@requires()
def index() -> str:
    """The person's organizations and their services, with what needs doing."""
    principal = signed_in()
    filters = Filters(
        query=text(request.args, "q", MAX_QUERY), stale_only=request.args.get("stale") == "1"
    )
    number = integer(request.args, "page", 1, default=1)
    months = int(current_app.config["STALE_MONTHS"])
    now = clock().now
    with get_store().session() as db:
        page = listings(db, principal, now, months, filters, number)
        reported = [] if can_moderate(principal) else reports.open_reports(db, principal)
    here = url_with(page=str(page.number) if page.number > 1 else None)
    forms = {
        capacity.id: CapacityForm(formdata=None, capacity_id=capacity.id)
        for organization in page.items
        for service in organization.services
        for capacity in service.capacities
    }
    return render_template(
        "edit/dashboard.html",
        page=page,
        reported=report_views(reported),
        filters=filters,
        months=months,
        forms=forms,
        now=now,
        back=here,
        pager=lambda n: url_with(page=str(n) if n > 1 else None),
    )
