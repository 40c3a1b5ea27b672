"""Monitoring as code: scrape config, alert rules, cost metrics and Grafana resources, all derived
from the service catalogue and the stack config (docs/MONITORING.md describes the result)."""
