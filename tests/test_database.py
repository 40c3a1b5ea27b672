"""The Database component under the Pulumi SDK's mocks: every resource, its inputs and options."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker
import pytest
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

from components.database import TYPE_TOKEN, Database, DatabaseArgs
from components.search.provider import migration_checksums

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ROLE = "postgresql:index/role:Role"
DATABASE = "postgresql:index/database:Database"
EXTENSION = "postgresql:index/extension:Extension"
GRANT = "postgresql:index/grant:Grant"
PROVIDER = "pulumi:providers:postgresql"
PASSWORD = "random:index/randomPassword:RandomPassword"
DYNAMIC = "pulumi-python:dynamic:Resource"


@dataclass
class Registration:
    type: str
    name: str
    parent: str
    dependencies: list[str]
    protect: bool
    provider: str
    inputs: dict[str, Any]
    raw: dict[str, Any]
    urn: str


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == PASSWORD:
            state["result"] = f"generated-{args.name}"
        if args.typ == DYNAMIC:
            state["version"] = 4
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Records what the engine would see: parent, dependencies, protect, raw (secret) inputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    protect=request.protect,
                    provider=request.provider,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    raw=json_format.MessageToDict(request.object),
                    urn=response.urn,
                )
            )
        return response

    def SupportsFeature(self, request):
        # Secrets must reach the monitor as secrets for the test to see them.
        return type("SupportsFeatureResponse", (), {"hasSupport": True})()


@pytest.fixture
def monitor():
    mocks = Mocks()
    recording = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project="investment", stack="test", preview=False, monitor=recording
    )
    return recording


def _build(**overrides: Any) -> tuple[docker.Container, Database]:
    container = docker.Container("postgres", image="postgres:15.10-alpine")
    args = DatabaseArgs(
        host="127.0.0.1",
        port=15432,
        admin_username="postgres",
        admin_password=pulumi.Output.secret("admin-secret"),
        **overrides,
    )
    database = Database("db", args, opts=pulumi.ResourceOptions(depends_on=[container]))
    return container, database


def _one(monitor: RecordingMonitor, typ: str, name: str) -> Registration:
    found = [r for r in monitor.registrations if r.type == typ and r.name == name]
    assert len(found) == 1, (typ, name, [(r.type, r.name) for r in monitor.registrations])
    return found[0]


OUTPUT_NAMES = (
    "app_database",
    "app_role",
    "app_password",
    "airflow_database",
    "airflow_role",
    "airflow_password",
    "monitoring_role",
    "monitoring_password",
    "search_schema_version",
)


def _run(with_backend: bool = False, **overrides: Any) -> dict[str, Any]:
    """Run a program holding the component; return each output as (value, is_secret) and URNs.

    pulumi.runtime.test waits for every registration, so assertions run on the complete record.
    """
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        extra: dict[str, pulumi.Output[str]] = {}
        if with_backend:
            backend = docker.Container("backend", image="backend:1.0.0")
            overrides["search_schema_after"] = [backend]
            extra["backend"] = backend.urn
        container, database = _build(**overrides)
        extra["container"] = container.urn

        async def collect() -> None:
            for key in OUTPUT_NAMES:
                output = getattr(database, key)
                captured[key] = (await output.future(), await output.is_secret())
            for key, urn in extra.items():
                captured[f"{key}_urn"] = await urn.future()

        return asyncio.ensure_future(collect())

    program()
    return captured


def _is_secret(raw_value: dict[str, Any]) -> bool:
    return raw_value.get("4dabf18193072939515e22adb298388d") == SECRET_SIG


def test_component_type_children_and_parents(monitor):
    _run()
    component = _one(monitor, TYPE_TOKEN, "db")
    children = sorted((r.type, r.name) for r in monitor.registrations if r.parent == component.urn)
    assert children == sorted(
        [
            (PROVIDER, "db-provider"),
            (DYNAMIC, "db-search-schema"),
            (DATABASE, "db-airflow-db"),
            (DATABASE, "db-app-db"),
            (EXTENSION, "db-pg-trgm"),
            (EXTENSION, "db-unaccent"),
            (GRANT, "db-airflow-db-revoke-public"),
            (GRANT, "db-app-db-revoke-public"),
            (ROLE, "db-airflow-role"),
            (ROLE, "db-app-role"),
            (ROLE, "db-monitoring-role"),
            (PASSWORD, "db-airflow-password"),
            (PASSWORD, "db-app-password"),
            (PASSWORD, "db-monitoring-password"),
        ]
    )


def test_outputs_are_real_and_passwords_secret(monitor):
    values = _run()
    assert {k: values[k] for k in OUTPUT_NAMES} == {
        "app_database": ("investment_db", False),
        "app_role": ("investment_app", False),
        "app_password": ("generated-db-app-password", True),
        "airflow_database": ("airflow", False),
        "airflow_role": ("airflow", False),
        "airflow_password": ("generated-db-airflow-password", True),
        "monitoring_role": ("postgres_exporter", False),
        "monitoring_password": ("generated-db-monitoring-password", True),
        "search_schema_version": (4, False),
    }


def test_generated_passwords_are_long_and_url_safe(monitor):
    _run()
    for name in ("db-app-password", "db-airflow-password", "db-monitoring-password"):
        assert _one(monitor, PASSWORD, name).inputs == {"length": 32, "special": False}


def test_provider_waits_for_the_container_and_everything_uses_the_provider(monitor):
    values = _run()
    provider = _one(monitor, PROVIDER, "db-provider")
    assert provider.dependencies == [values["container_urn"]]
    inputs = provider.inputs
    assert {k: inputs[k] for k in ("host", "port", "username", "sslmode", "superuser")} == {
        # Provider configuration travels as strings.
        "host": "127.0.0.1",
        "port": "15432",
        "username": "postgres",
        "sslmode": "disable",
        "superuser": "true",
    }
    assert _is_secret(provider.raw["password"])
    in_server = [r for r in monitor.registrations if r.type.startswith("postgresql:")]
    assert len(in_server) == 9
    for r in in_server:
        assert r.provider == f"{provider.urn}::db-provider-id", r.name


def test_roles_are_least_privilege(monitor):
    _run()
    expected_common = {
        "login": True,
        "superuser": False,
        "createDatabase": False,
        "createRole": False,
        "replication": False,
        "bypassRowLevelSecurity": False,
        "inherit": True,
    }
    for name, role, roles, limit in (
        ("db-app-role", "investment_app", [], -1),
        ("db-airflow-role", "airflow", [], -1),
        ("db-monitoring-role", "postgres_exporter", ["pg_monitor"], 5),
    ):
        registration = _one(monitor, ROLE, name)
        inputs = registration.inputs
        assert {k: inputs[k] for k in expected_common} == expected_common, name
        assert (inputs["name"], inputs["roles"], inputs["connectionLimit"]) == (role, roles, limit)
        assert _is_secret(registration.raw["password"]), name


def test_each_database_is_owned_by_its_role_protected_and_closed_to_public(monitor):
    _run()
    for name, db, owner in (
        ("db-app-db", "investment_db", "investment_app"),
        ("db-airflow-db", "airflow", "airflow"),
    ):
        registration = _one(monitor, DATABASE, name)
        assert registration.inputs == {
            "name": db,
            "owner": owner,
            "encoding": "UTF8",
            "template": "template0",
        }
        assert registration.protect is True
        grant = _one(monitor, GRANT, f"{name}-revoke-public").inputs
        assert grant == {
            "database": db,
            "role": "public",
            "objectType": "database",
            "privileges": [],
        }


def test_extensions_live_in_the_application_database(monitor):
    _run()
    app_db = _one(monitor, DATABASE, "db-app-db")
    for name, extension in (("db-pg-trgm", "pg_trgm"), ("db-unaccent", "unaccent")):
        registration = _one(monitor, EXTENSION, name)
        assert registration.inputs == {
            "name": extension,
            "database": "investment_db",
            "schema": "public",
        }
        assert app_db.urn in registration.dependencies


def test_search_schema_runs_after_extensions_and_backend_as_app_role(monitor):
    values = _run(with_backend=True)
    schema = _one(monitor, DYNAMIC, "db-search-schema")
    for extension in ("db-pg-trgm", "db-unaccent"):
        assert _one(monitor, EXTENSION, extension).urn in schema.dependencies
    assert values["backend_urn"] in schema.dependencies
    inputs = schema.inputs
    assert {k: inputs[k] for k in ("host", "port", "database", "username", "sslmode")} == {
        "host": "127.0.0.1",
        "port": 15432,
        "database": "investment_db",
        "username": "investment_app",
        "sslmode": "disable",
    }
    assert inputs["migrations"] == migration_checksums()
    assert _is_secret(schema.raw["password"])
    # The pickled provider is stored in state too: it must carry no credentials.
    assert "generated-db-app-password" not in str(inputs["__provider"])


def test_given_passwords_replace_random_ones_and_schema_can_be_left_to_the_cli(monitor):
    values = _run(
        app_password=pulumi.Output.secret("app-given"), search_schema=False, protect=False
    )
    assert DYNAMIC not in [r.type for r in monitor.registrations]
    assert sorted(r.name for r in monitor.registrations if r.type == PASSWORD) == [
        "db-airflow-password",
        "db-monitoring-password",
    ]
    assert _one(monitor, DATABASE, "db-app-db").protect is False
    assert values["app_password"] == ("app-given", True)
    assert values["search_schema_version"] == (0, False)
