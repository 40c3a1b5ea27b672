"""`AlertingSettings`: where alerts go and when the budget alerts fire (stack key `alerting`).

Kept free of `components.config` so the stack config can import it without a cycle.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from components.configmodel import ConfigModel


class AlertingSettings(ConfigModel):
    """Contact points and thresholds of Grafana's alerting, as a stack sets them."""

    email_addresses: tuple[str, ...] = ()
    """Recipients of alert e-mails (they need `smtpHost` and `smtpFrom`)."""
    smtp_host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+:\d+$")
    """SMTP relay Grafana sends e-mail through, `host:port`."""
    smtp_user: str | None = None
    """SMTP user; its password is the secret `smtpPassword`."""
    smtp_from: str | None = None
    """Sender address of alert e-mails."""
    webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """A webhook (Slack-compatible, ntfy, a chat bridge) that receives every alert."""
    budget_warning_ratio: float = Field(default=0.8, gt=0, le=1)
    """Projected monthly cost as a share of the budget at which the warning fires."""
    budget_critical_ratio: float = Field(default=1.0, gt=0, le=2)
    """Projected monthly cost as a share of the budget at which the critical alert fires."""
    repeat_interval_h: int = Field(default=4, ge=1, le=168)
    """Hours before a still-firing alert is sent again."""
    runbook_base_url: str = "docs/MONITORING.md"
    """Where the runbook lives; each alert links to `<this>#<alert anchor>`."""

    @model_validator(mode="after")
    def _warning_below_critical(self) -> AlertingSettings:
        if self.budget_warning_ratio >= self.budget_critical_ratio:
            raise ValueError(
                f"budgetWarningRatio ({self.budget_warning_ratio:g}) must be below "
                f"budgetCriticalRatio ({self.budget_critical_ratio:g})"
            )
        return self

    @model_validator(mode="after")
    def _smtp_for_email(self) -> AlertingSettings:
        if self.email_addresses and not (self.smtp_host and self.smtp_from):
            raise ValueError("emailAddresses need smtpHost and smtpFrom to be sent")
        return self

    @property
    def has_receivers(self) -> bool:
        """Whether the stack names anyone to notify (otherwise no contact point is created)."""
        return bool(self.email_addresses or self.webhook_url)
