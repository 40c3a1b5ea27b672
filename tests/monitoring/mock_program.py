"""A Pulumi program with only the services and the Monitoring component, run under the offline
mocks by test_grafana.py (the whole platform wires Monitoring in components/platform.py).

The test passes the alerting settings as the JSON config key `testAlerting`, which is removed
before the stack config is validated.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.config import load_config, resolve_specs
from components.monitoring.grafana import Monitoring, MonitoringArgs
from components.monitoring.settings import AlertingSettings
from components.program import raw_project_config
from components.service import Service, ServiceArgs
from components.stackcost import stack_cost

raw = raw_project_config()
alerting = AlertingSettings.model_validate_json(raw.pop("testAlerting", "{}"))
config = load_config(pulumi.get_stack(), raw)
network = docker.Network("test-network", name="test-internal")
services = {
    spec.name: Service(
        f"test-{spec.name}",
        ServiceArgs(spec=spec, stack=config.stack, name_prefix="test", network=network),
    )
    for spec in resolve_specs(config)
}
Monitoring(
    "test-monitoring",
    MonitoringArgs(
        services=services,
        cost=stack_cost(config),
        grafana_url="https://invest.example.com/grafana/",
        admin_password=pulumi.Output.secret("admin-password"),
        alerting=alerting,
    ),
)
