"""A Pulumi program: the real platform plus a `Monitoring` component built from its services, run
under the offline mocks by test_grafana.py.

The test passes the alerting settings as the JSON config key `testAlerting` and a webhook URL as
`testWebhookUrl`, which are removed before the stack config is validated. Only resources named
`test-monitoring*` belong to the component under test (the platform may provision its own
monitoring too).
"""

from __future__ import annotations

import pulumi

from components.monitoring import Monitoring, MonitoringArgs
from components.platform import Platform, PlatformArgs
from model.alerting import AlertingSettings
from model.config import load_config, resolve_specs
from program.main import stack_input

given = stack_input()
raw = dict(given.raw)
alerting = AlertingSettings.model_validate_json(raw.pop("testAlerting", "{}"))
webhook = raw.pop("testWebhookUrl", None)
config = load_config(pulumi.get_stack(), raw, given.secret_keys)
platform = Platform(
    "investment", PlatformArgs(config=config, specs=resolve_specs(config), secrets={})
)
Monitoring(
    "test-monitoring",
    MonitoringArgs(
        services=platform.services,
        cost=platform.cost,
        grafana_url="https://invest.example.com/grafana",
        admin_password=platform.secrets.values["grafana_admin_password"],
        alerting=alerting,
        webhook_url=pulumi.Output.secret(webhook) if webhook else None,
    ),
)
