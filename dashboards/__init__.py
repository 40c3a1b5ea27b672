"""Grafana dashboards as typed code (Grafana Foundation SDK 11.6, matching grafana/grafana:11.6.0).

Each module builds one dashboard from the catalogue (and the cost report) and returns its JSON as
Grafana stores it, minus the top-level `id` and `version`: Grafana assigns both, so keeping them in
the provisioned JSON would show a diff on every preview. Panel ids are assigned in order, so the
same catalogue always gives the same JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import bargauge, stat, timeseries
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dashboard_b
from grafana_foundation_sdk.builders import prometheus as prometheus_b
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dashboard_m

PROMETHEUS_UID = "prometheus"
"""Stable uid of the Prometheus data source, which components/monitoring.py creates."""
DATASOURCE = dashboard_m.DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)

Target = tuple[str, str]
"""(PromQL expression, legend format)."""


class Layout:
    """Hands out panel ids in order, so a dashboard's ids are unique and stable."""

    def __init__(self) -> None:
        self._next = 1

    def next_id(self) -> int:
        value = self._next
        self._next += 1
        return value


def _queries(targets: Sequence[Target], *, instant: bool = False) -> list[Any]:
    queries = []
    for index, (expr, legend) in enumerate(targets):
        query = (
            prometheus_b.Dataquery()
            .datasource(DATASOURCE)
            .expr(expr)
            .legend_format(legend)
            .ref_id(chr(ord("A") + index))
        )
        queries.append(query.instant() if instant else query.range())
    return queries


def thresholds(*steps: tuple[float | None, str]) -> dashboard_b.ThresholdsConfig:
    """Absolute thresholds: (from value, colour); the first starts at -infinity (None)."""
    return (
        dashboard_b.ThresholdsConfig()
        .mode(dashboard_m.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_m.Threshold(value=value, color=color) for value, color in steps])
    )


def row(layout: Layout, title: str) -> dashboard_b.Row:
    """A section header."""
    return dashboard_b.Row(title).id(layout.next_id())


_Panel = TypeVar("_Panel", timeseries.Panel, stat.Panel, bargauge.Panel)


def _panel(
    panel: _Panel, layout: Layout, title: str, description: str, unit: str, span: int, height: int
) -> _Panel:
    """What every panel has: the next id, title, description, data source, unit and size."""
    return (
        panel.id(layout.next_id())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(span)
        .height(height)
    )


def timeseries_panel(
    layout: Layout,
    title: str,
    targets: Sequence[Target],
    *,
    unit: str,
    description: str = "",
    span: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
) -> timeseries.Panel:
    """A graph of one or more queries."""
    panel = _panel(timeseries.Panel(), layout, title, description, unit, span, height).targets(
        _queries(targets)
    )
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    return panel


def stat_panel(
    layout: Layout,
    title: str,
    targets: Sequence[Target],
    *,
    unit: str,
    description: str = "",
    span: int = 4,
    height: int = 4,
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    mappings: Sequence[dashboard_m.ValueMapping] = (),
) -> stat.Panel:
    """A big number (the last value of each query)."""
    panel = (
        _panel(stat.Panel(), layout, title, description, unit, span, height)
        .color_mode(common_m.BigValueColorMode.BACKGROUND)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(thresholds(*steps))
        .targets(_queries(targets, instant=True))
    )
    if mappings:
        panel = panel.mappings(list(mappings))
    return panel


def bargauge_panel(
    layout: Layout,
    title: str,
    targets: Sequence[Target],
    *,
    unit: str,
    description: str = "",
    span: int = 12,
    height: int = 8,
    steps: Sequence[tuple[float | None, str]] = (),
    max_value: float | None = None,
) -> bargauge.Panel:
    """Horizontal bars, one per series (e.g. cost per service), coloured by `steps` if given."""
    panel = (
        _panel(bargauge.Panel(), layout, title, description, unit, span, height)
        .orientation(common_m.VizOrientation.HORIZONTAL)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .targets(_queries(targets, instant=True))
    )
    if steps:
        panel = panel.thresholds(thresholds(*steps))
    if max_value is not None:
        panel = panel.min(0).max(max_value)
    return panel


def up_mappings() -> list[dashboard_m.ValueMapping]:
    """1 shows as UP (green), 0 as DOWN (red)."""
    return [
        dashboard_m.ValueMap(
            options={
                "0": dashboard_m.ValueMappingResult(text="DOWN", color="red", index=0),
                "1": dashboard_m.ValueMappingResult(text="UP", color="green", index=1),
            }
        )
    ]


def to_json(builder: dashboard_b.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana stores it, without the `id` and `version` Grafana assigns."""
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    data.pop("id", None)
    data.pop("version", None)
    return data


def panels(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in data.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(data: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard, in panel order."""
    return [t["expr"] for p in panels(data) for t in p.get("targets", []) if "expr" in t]
