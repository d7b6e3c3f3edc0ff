"""Messages to a partner account's owner about its money (a failed or
suspended auto-charge, a reviewed return, a closing and its refund), kept in
the database and read through the API (``notifications``)."""

from __future__ import annotations

from leadwire.core.access import Viewer, visible_money
from leadwire.core.identity import now
from leadwire.core.models.money import Notification, NotificationKind


async def notify(account_id: int, kind: NotificationKind, title: str, body: str, conn) -> Notification:
    """Record a notification in the caller's transaction (it exists if and only
    if the change it describes committed)."""
    return await Notification.create(account_id=account_id, kind=kind, title=title[:200], body=body, using_db=conn)


def visible_notifications(viewer: Viewer):
    """The owner's own account's notifications (operator staff: every account's)."""
    return visible_money(viewer, Notification)


async def mark_read(viewer: Viewer, notification_ids: list[int]) -> int:
    """Mark the given notifications read (ids the viewer may not see are ignored).
    Only the account's own: operator staff may read a partner's notifications
    but not mark them read (the partner's owner would never see them as new)."""
    return await visible_notifications(viewer).filter(
        account_id=viewer.account_id, id__in=notification_ids, read_at__isnull=True
    ).update(read_at=now())
