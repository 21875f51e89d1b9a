"""What the queue's routes take from the application: the routing policy and when SMS notices go."""

from __future__ import annotations

from starlette.requests import Request

from queueing.notifications import QueueNotices
from queueing.policy import PolicyConfig, Priority


def policy_config(request: Request) -> PolicyConfig:
    """The routing policy configured for this application."""
    config: PolicyConfig = request.app.state.policy
    return config


def build_policy(head_starts: dict[str, float], max_wait_s: float) -> PolicyConfig:
    """The routing policy from settings."""
    return PolicyConfig(
        priority_head_start_s={Priority(k): v for k, v in head_starts.items()}, max_wait_s=max_wait_s
    )


def queue_notices(request: Request) -> QueueNotices:
    """When people in the queue get an SMS (settings.sms_notify_ahead and _lead_s, the routing policy)."""
    settings = request.app.state.settings
    return QueueNotices(
        ahead=settings.sms_notify_ahead,
        policy=policy_config(request),
        base_url=settings.base_url,
        lead_s=settings.sms_notify_lead_s,
    )
