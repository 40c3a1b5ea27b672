"""The Database component under the Pulumi SDK's mocks: every resource, its inputs and options."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker
import pytest
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

from components.database import OUTPUTS, TYPE_TOKEN, Database, DatabaseArgs
from components.search_schema import migration_checksums
from model.dbprivileges import Names, privilege_model

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ROLE = "postgresql:index/role:Role"
DATABASE = "postgresql:index/database:Database"
EXTENSION = "postgresql:index/extension:Extension"
GRANT = "postgresql:index/grant:Grant"
DEFAULTS = "postgresql:index/defaultPrivileges:DefaultPrivileges"
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
            state["version"] = 6
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
    passwords = {f"{key}_password": pulumi.Output.secret(f"{key}-given") for key in KEYS}
    args = DatabaseArgs(
        host="127.0.0.1",
        port=15432,
        admin_password=pulumi.Output.secret("admin-secret"),
        **{**passwords, **overrides},
    )
    database = Database("db", args, opts=pulumi.ResourceOptions(depends_on=[container]))
    return container, database


def _one(monitor: RecordingMonitor, typ: str, name: str) -> Registration:
    found = [r for r in monitor.registrations if r.type == typ and r.name == name]
    assert len(found) == 1, (typ, name, [(r.type, r.name) for r in monitor.registrations])
    return found[0]


OUTPUT_NAMES = OUTPUTS


def _run(with_backend: bool = False, **overrides: Any) -> dict[str, Any]:
    """Run a program holding the component; return each output as (value, is_secret) and URNs.

    pulumi.runtime.test waits for every registration, so assertions run on the complete record.
    """
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        extra: dict[str, pulumi.Output[str]] = {}
        container, database = _build(**overrides)
        if with_backend:
            backend = docker.Container("backend", image="backend:1.0.0")
            database.add_search_schema(after=[backend])
            extra["backend"] = backend.urn
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
    model = privilege_model()
    assert children == sorted(
        [
            (PROVIDER, "db-provider"),
            (DATABASE, "db-airflow-db"),
            (DATABASE, "db-app-db"),
            (EXTENSION, "db-pg-trgm"),
            (EXTENSION, "db-unaccent"),
            *((ROLE, f"db-{key}-role") for key in KEYS),
            *((GRANT, f"db-{g.key}") for g in model.grants),
            *((DEFAULTS, f"db-{d.key}") for d in model.default_privileges),
        ]
    )
    assert len(children) == 28


KEYS = ("owner", "app", "backup", "airflow", "monitoring")


def test_outputs_are_real_and_passwords_secret(monitor):
    values = _run()
    assert {k: values[k] for k in OUTPUT_NAMES} == {
        "app_database": ("investment_db", False),
        "owner_role": ("investment_owner", False),
        "owner_password": ("owner-given", True),
        "app_role": ("investment_app", False),
        "app_password": ("app-given", True),
        "backup_role": ("investment_backup", False),
        "backup_password": ("backup-given", True),
        "airflow_database": ("airflow", False),
        "airflow_role": ("airflow", False),
        "airflow_password": ("airflow-given", True),
        "monitoring_role": ("postgres_exporter", False),
        "monitoring_password": ("monitoring-given", True),
    }


def test_names_come_from_one_names_object(monitor):
    # Names is the privilege model's; the component creates exactly what it names.
    names = Names(admin_role="root", app_database="research", app_role="research_app")
    values = _run(names=names)
    assert values["app_database"] == ("research", False)
    assert values["app_role"] == ("research_app", False)
    provider = _one(monitor, PROVIDER, "db-provider")
    assert provider.inputs["username"] == "root"
    databases = sorted(r.inputs["name"] for r in monitor.registrations if r.type == DATABASE)
    assert databases == ["airflow", "research"]


def test_passwords_come_from_the_caller_and_nothing_is_generated_here(monitor):
    # The Secrets component gives or generates every password; the Database only uses them.
    _run()
    assert [r.name for r in monitor.registrations if r.type == PASSWORD] == []


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
    # 5 roles, 2 databases, 2 extensions, 14 grants, 4 default privileges.
    assert len(in_server) == 27
    for r in in_server:
        assert r.provider == f"{provider.urn}::db-provider-id", r.name


def test_roles_are_the_models_login_roles(monitor):
    _run()
    expected_common = {
        "login": True,
        "superuser": False,
        "createDatabase": False,
        "createRole": False,
        "bypassRowLevelSecurity": False,
        "inherit": True,
    }
    # Only the backup role streams WAL and takes base backups (REPLICATION).
    for key, role, roles, limit, replication in (
        ("owner", "investment_owner", [], -1, False),
        ("app", "investment_app", [], -1, False),
        ("backup", "investment_backup", ["pg_read_all_data"], 6, True),
        ("airflow", "airflow", [], -1, False),
        ("monitoring", "postgres_exporter", ["pg_monitor"], 5, False),
    ):
        registration = _one(monitor, ROLE, f"db-{key}-role")
        inputs = registration.inputs
        assert {k: inputs[k] for k in expected_common} == expected_common, key
        assert (inputs["name"], inputs["roles"], inputs["connectionLimit"]) == (role, roles, limit)
        assert inputs["replication"] is replication, key
        assert _is_secret(registration.raw["password"]), key


def test_databases_belong_to_the_superuser_and_to_airflow_and_are_protected(monitor):
    _run()
    for name, db, owner in (
        ("db-app-db", "investment_db", "postgres"),
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
    # Airflow's database waits for the role that owns it.
    airflow_db = _one(monitor, DATABASE, "db-airflow-db")
    assert _one(monitor, ROLE, "db-airflow-role").urn in airflow_db.dependencies


def test_every_grant_and_default_privilege_is_registered_as_the_model_says(monitor):
    _run()
    model = privilege_model()
    for grant in model.grants:
        inputs = _one(monitor, GRANT, f"db-{grant.key}").inputs
        expected: dict[str, Any] = {
            "database": grant.database,
            "role": grant.role,
            "objectType": grant.object_type,
            "privileges": list(grant.privileges),
        }
        if grant.schema is not None:
            expected["schema"] = grant.schema
        assert inputs == expected, grant.key
    for entry in model.default_privileges:
        inputs = _one(monitor, DEFAULTS, f"db-{entry.key}").inputs
        expected = {
            "database": entry.database,
            "owner": entry.owner,
            "role": entry.role,
            "objectType": entry.object_type,
            "privileges": list(entry.privileges),
        }
        if entry.schema is not None:
            expected["schema"] = entry.schema
        assert inputs == expected, entry.key


def test_revocations_from_public_keep_their_resource_names(monitor):
    # The names of the first version's two revocations, so that an existing stack's state
    # carries over instead of deleting and re-creating them.
    _run()
    for name, database in (
        ("db-app-db-revoke-public", "investment_db"),
        ("db-airflow-db-revoke-public", "airflow"),
        ("db-postgres-db-revoke-public", "postgres"),
        ("db-template1-db-revoke-public", "template1"),
    ):
        assert _one(monitor, GRANT, name).inputs == {
            "database": database,
            "role": "public",
            "objectType": "database",
            "privileges": [],
        }


def test_grants_wait_for_the_roles_and_databases_they_name(monitor):
    _run()
    app_db = _one(monitor, DATABASE, "db-app-db").urn
    app_role = _one(monitor, ROLE, "db-app-role").urn
    owner_role = _one(monitor, ROLE, "db-owner-role").urn
    assert {app_db, app_role} <= set(_one(monitor, GRANT, "db-tables-app").dependencies)
    defaults = _one(monitor, DEFAULTS, "db-default-tables-app").dependencies
    assert {app_db, app_role, owner_role} <= set(defaults)
    monitoring = _one(monitor, GRANT, "db-postgres-db-connect-monitoring").dependencies
    assert _one(monitor, ROLE, "db-monitoring-role").urn in monitoring


def test_grants_on_one_catalogue_row_run_one_after_the_other(monitor):
    # The provider serialises grants per database and per role only; grants on one schema for
    # different roles would race ("tuple concurrently updated").
    _run()
    chain = ["db-schema-revoke-public", "db-schema-owner", "db-schema-app"]
    for before, after in itertools.pairwise(chain):
        assert _one(monitor, GRANT, before).urn in _one(monitor, GRANT, after).dependencies
    database_chain = [
        "db-app-db-revoke-public",
        "db-app-db-connect-owner",
        "db-app-db-connect-app",
        "db-app-db-connect-backup",
    ]
    for before, after in itertools.pairwise(database_chain):
        assert _one(monitor, GRANT, before).urn in _one(monitor, GRANT, after).dependencies
    first_default = _one(monitor, DEFAULTS, "db-default-tables-app")
    assert first_default.urn in _one(monitor, DEFAULTS, "db-default-sequences-app").dependencies


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


def test_search_schema_runs_as_the_owner_after_privileges_extensions_and_backend(monitor):
    values = _run(with_backend=True)
    schema = _one(monitor, DYNAMIC, "db-search-schema")
    for extension in ("db-pg-trgm", "db-unaccent"):
        assert _one(monitor, EXTENSION, extension).urn in schema.dependencies
    assert _one(monitor, DEFAULTS, "db-default-functions-app").urn in schema.dependencies
    assert _one(monitor, GRANT, "db-schema-owner").urn in schema.dependencies
    assert values["backend_urn"] in schema.dependencies
    inputs = schema.inputs
    assert {k: inputs[k] for k in ("host", "port", "database", "username", "sslmode")} == {
        "host": "127.0.0.1",
        "port": 15432,
        "database": "investment_db",
        "username": "investment_owner",
        "sslmode": "disable",
    }
    assert inputs["migrations"] == migration_checksums()
    assert _is_secret(schema.raw["password"])
    # The pickled provider is stored in state too: it must carry no credentials.
    assert "owner-given" not in str(inputs["__provider"])


def test_the_search_schema_waits_for_add_search_schema_and_protection_can_be_off(monitor):
    _run(protect=False)
    # Without add_search_schema (the CLI's `db migrate` instead), no search schema resource.
    assert DYNAMIC not in [r.type for r in monitor.registrations]
    assert _one(monitor, DATABASE, "db-app-db").protect is False


def test_objects_lists_every_resource_inside_the_server(monitor):
    # Containers wait for `objects`: every grant must be in place before the app connects.
    captured: dict[str, list[str]] = {}

    @pulumi.runtime.test
    def program():
        _, database = _build()
        return pulumi.Output.all(*[r.urn for r in database.objects]).apply(
            lambda urns: captured.setdefault("urns", list(urns))
        )

    program()
    in_server = {r.urn for r in monitor.registrations if r.type.startswith("postgresql:")}
    assert set(captured["urns"]) == in_server
