"""The dashboards' PromQL goes through the same real promtool as the monitoring tests."""

from tests.monitoring.conftest import promtool

__all__ = ["promtool"]
