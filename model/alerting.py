"""`AlertingSettings`: where alerts go and when the budget alerts fire (stack key `alerting`).

Kept free of `model.config` so the stack config can import it without a cycle.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from model.base import ConfigModel, EmailAddress, check_hostname, check_http_url


class AlertingSettings(ConfigModel):
    """Contact points and thresholds of Grafana's alerting, as a stack sets them."""

    email_addresses: tuple[EmailAddress, ...] = ()
    """Recipients of alert e-mails (they need `smtpHost` and `smtpFrom`)."""
    smtp_host: str | None = None
    """SMTP relay Grafana sends e-mail through, `host:port`."""
    smtp_user: str | None = Field(default=None, pattern=r"^[A-Za-z0-9@._+-]{1,128}$")
    """SMTP user; its password is the secret `smtpPassword`."""
    smtp_from: EmailAddress | None = None
    """Sender address of alert e-mails."""
    budget_warning_ratio: float = Field(default=0.8, gt=0, le=1)
    """Projected monthly cost as a share of the budget at which the warning fires."""
    budget_critical_ratio: float = Field(default=1.0, gt=0, le=2)
    """Projected monthly cost as a share of the budget at which the critical alert fires."""
    repeat_interval_h: int = Field(default=4, ge=1, le=168)
    """Hours before a still-firing alert is sent again."""
    runbook_base_url: str = "docs/MONITORING.md"
    """Where the runbook lives (a relative path or an http(s) URL); each alert links to
    `<this>#<alert anchor>`."""

    @model_validator(mode="before")
    @classmethod
    def _webhook_is_a_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and {"webhookUrl", "webhook_url"} & set(data):
            raise ValueError(
                "webhookUrl: a webhook URL carries its token, so it is a secret: remove it here "
                "and run `pulumi config set --secret alertingWebhookUrl`"
            )
        return data

    @field_validator("smtp_host")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, colon, port = value.rpartition(":")
        if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port (e.g. smtp.example.com:587)")
        check_hostname(host)
        return value

    @field_validator("runbook_base_url")
    @classmethod
    def _runbook(cls, value: str) -> str:
        if value.startswith(("http://", "https://")):
            return check_http_url(value)
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or ".." in value.split("/"):
            raise ValueError(f"{value!r} is neither an http(s) URL nor a relative path")
        return value

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
    def has_email(self) -> bool:
        """Whether alerts go out by e-mail (the webhook is a secret, outside this model)."""
        return bool(self.email_addresses)
