"""A Pulumi program: the real platform plus a `Monitoring` component built from its services, run
under the offline mocks by test_grafana.py.

The test passes the alerting settings as the JSON config key `testAlerting`, which is removed
before the stack config is validated. Only resources named `test-monitoring*` belong to the
component under test (the platform may provision its own monitoring too).
"""

from __future__ import annotations

import pulumi

from components.config import load_config
from components.monitoring.grafana import Monitoring, MonitoringArgs
from components.monitoring.settings import AlertingSettings
from components.platform import Platform, PlatformArgs
from components.program import raw_project_config

raw = raw_project_config()
alerting = AlertingSettings.model_validate_json(raw.pop("testAlerting", "{}"))
config = load_config(pulumi.get_stack(), raw)
platform = Platform("investment", PlatformArgs(config=config))
Monitoring(
    "test-monitoring",
    MonitoringArgs(
        services=platform.services,
        cost=platform.cost,
        grafana_url="https://invest.example.com/grafana",
        admin_password=platform.secrets.values["grafana_admin_password"],
        alerting=alerting,
    ),
)
