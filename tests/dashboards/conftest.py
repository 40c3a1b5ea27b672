"""The dashboards' PromQL goes through the same real promtool as the monitoring tests."""

from tests.support.stacks import promtool

__all__ = ["promtool"]
