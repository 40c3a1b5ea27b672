"""The investment platform's CrossGuard policies: the infrastructure checklist, machine-checked.

One typed validator per rule. Resource validators see a resource's inputs (`Analyze`); stack
validators see every resource's outputs, including the root `pulumi:pulumi:Stack` resource whose
outputs are the stack outputs (`AnalyzeStack`). That is how the budget and capacity policies read
the program's exported `cost` without the pack importing the program.

The pack runs in its own virtualenv under the CLI (`pulumi preview --policy-pack policy/`), so it
imports nothing from the project: its settings are policy config with the defaults coded in here
(`DEFAULTS`), because the policy SDK hands a validator only the config the user set.

Secrets: the engine sends secret values marked, but pulumi-policy 1.21's `Analyze` unwraps the
marks before a validator runs, so a validator cannot tell a secret from plain text. The pack keeps
the marks by deserializing with `mark_secrets` (installed by `__main__.py`): every string inside a
secret arrives as a `SecretStr`, an ordinary `str` to every other policy.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME: Final = "investment-platform-checklist"
LABEL_PREFIX: Final = "com.investment-platform"
SERVICE_LABEL: Final = f"{LABEL_PREFIX}.service"
DATA_LABEL: Final = f"{LABEL_PREFIX}.data"
METRICS_LABEL_PREFIX: Final = f"{LABEL_PREFIX}.metrics."

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
VOLUME: Final = "docker:index/volume:Volume"
STACK: Final = "pulumi:pulumi:Stack"
REPOSITORY_FILE: Final = "github:index/repositoryFile:RepositoryFile"
POSTGRES_ROLE: Final = "postgresql:index/role:Role"
DASHBOARDS: Final = ("grafana:oss/dashboard:Dashboard", "grafana:index/dashboard:Dashboard")

DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "monthly-cost-within-budget": {"budgetUsd": 50.0},
    "monthly-cost-near-budget": {"budgetUsd": 50.0, "warnAtPct": 80.0},
    "memory-fits-host": {"hostMemoryMib": None, "osReserveMib": None},
    "privileged-allow-list": {"allowedServices": ["cadvisor"]},
    "no-internal-ports-published": {"environment": None, "publicServices": ["nginx"]},
    "data-volumes-protected": {"scratchVolumes": ["*-celery-beat-schedule"]},
    "metrics-scrape-coverage": {"prometheusConfigPath": "/etc/prometheus/prometheus.yml"},
    "deploy-only-on-main": {"deployJobs": "deploy*", "branch": "main"},
}
"""Each policy's settings when the user sets none (the SDK does not apply schema defaults)."""


class SecretStr(str):
    """A string the engine sent as a secret; its repr never shows the value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SecretStr('[secret]')"


# Pulumi's signature keys for typed values inside property maps (sdk/go/common/resource).
_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"


def _mark(value: Any, secret: bool, plain: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        return SecretStr(value) if secret else value
    if isinstance(value, list):
        return [_mark(v, secret, plain) for v in value]
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return _mark(value.get("value"), True, plain)
        if sig is not None:
            return plain(value)
        return {k: _mark(v, secret, plain) for k, v in value.items()}
    return value


def mark_secrets(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """Deserialize a property map like pulumi-policy does, but keep secrets visible as SecretStr.

    Remediation (`proxy_secrets=True`) keeps the SDK's own handling.
    """
    from pulumi_policy import deserialize

    if proxy_secrets:
        result: dict[str, Any] = deserialize.deserialize_properties(props, True)
        return result
    return {k: _mark(v, False, deserialize._deserialize_property) for k, v in props.items()}


def install_secret_marking() -> None:
    """Make the analyzer deserialize with `mark_secrets` (pulumi-policy 1.21's servicer)."""
    from pulumi_policy import policy as sdk_policy

    # A renamed hook in another SDK version must fail loudly, not let plain text pass as secret.
    if not callable(getattr(sdk_policy, "deserialize_properties", None)):
        raise RuntimeError(
            "pulumi_policy.policy.deserialize_properties is gone; pin pulumi-policy==1.21.0 or "
            "port install_secret_marking to this version"
        )
    sdk_policy.deserialize_properties = mark_secrets  # type: ignore[attr-defined]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value the engine cannot know during preview (computed by another resource)."""


def lookup(mapping: Any, key: str) -> Any:
    """`mapping[key]`, None when absent, UNKNOWN when it is not known yet."""
    if not isinstance(mapping, Mapping):
        return None
    try:
        return mapping.get(key)
    except UnknownValueError:
        return UNKNOWN


def items(sequence: Any) -> Iterator[Any]:
    """The known elements of a list property (unknown ones skipped; none if it is not a list)."""
    if not isinstance(sequence, Sequence) or isinstance(sequence, str):
        return
    for i in range(len(sequence)):
        try:
            yield sequence[i]
        except UnknownValueError:
            continue


def config(args: ResourceValidationArgs | StackValidationArgs, policy: str) -> dict[str, Any]:
    """The policy's settings: its coded defaults overlaid with what the user configured."""
    merged = dict(DEFAULTS.get(policy, {}))
    merged.update({k: v for k, v in dict(args.get_config()).items() if v is not None})
    return merged


def labels(props: Any) -> dict[str, str]:
    """A Docker resource's labels (a list of {label, value}) as a dict."""
    result: dict[str, str] = {}
    for entry in items(lookup(props, "labels")):
        key, value = lookup(entry, "label"), lookup(entry, "value")
        if isinstance(key, str) and isinstance(value, str):
            result[key] = value
    return result


def service_of(props: Any, fallback: str) -> str:
    """The platform service a container belongs to: its service label, else its name."""
    name = labels(props).get(SERVICE_LABEL) or lookup(props, "name")
    return name if isinstance(name, str) else fallback


def image_problem(ref: str) -> str | None:
    """Why an image reference is not pinned, or None when it is (version tag or digest)."""
    if ref.startswith("sha256:") or "@sha256:" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"'{ref}' has no tag, so Docker pulls :latest"
    tag = last.split(":", 1)[1]
    if tag == "latest":
        return f"'{ref}' uses :latest"
    if not any(c.isdigit() for c in tag):
        return f"'{ref}' uses the floating tag :{tag}"
    return None


def validate_container_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container sets a CPU limit (`cpus`) and a memory limit (`memory`)."""
    if args.resource_type != CONTAINER:
        return
    missing = []
    cpus = lookup(args.props, "cpus")
    if cpus is not UNKNOWN and not _positive(cpus):
        missing.append("cpus")
    memory = lookup(args.props, "memory")
    if memory is not UNKNOWN and not _positive(memory):
        missing.append("memory")
    if missing:
        service = service_of(args.props, args.name)
        report(
            f"container '{service}' has no {' and no '.join(missing)} limit; an unlimited "
            "container can starve or OOM the whole host. Set cpus and memory_mib in its "
            "ServiceSpec (components/catalogue.py) or the stack's services override.",
            None,
        )


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def validate_container_healthcheck(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container has a Docker health check that runs a command."""
    if args.resource_type != CONTAINER:
        return
    healthcheck = lookup(args.props, "healthcheck")
    if healthcheck is UNKNOWN:
        return
    tests = [t for t in items(lookup(healthcheck, "tests")) if isinstance(t, str)]
    if not tests or tests[0] == "NONE":
        service = service_of(args.props, args.name)
        report(
            f"container '{service}' has no health check, so nothing waits for it to be ready and "
            "a hung process stays 'running'. Give its ServiceSpec a HealthCheck whose command "
            "exists in the image.",
            None,
        )


RESTART_POLICIES: Final = ("unless-stopped", "always", "on-failure")


def validate_container_restart(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container has a restart policy, so a crash or a host reboot brings it back."""
    if args.resource_type != CONTAINER:
        return
    restart = lookup(args.props, "restart")
    if restart is UNKNOWN or (isinstance(restart, str) and restart.startswith(RESTART_POLICIES)):
        return
    service = service_of(args.props, args.name)
    report(
        f"container '{service}' has restart policy '{restart or 'no'}'; set restart to "
        "'unless-stopped' (the Service component does) so it survives crashes and reboots.",
        None,
    )


def validate_images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Images are pinned to a version tag or digest: no :latest, no untagged, no floating tag."""
    if args.resource_type == REMOTE_IMAGE:
        ref = lookup(args.props, "name")
    elif args.resource_type == CONTAINER:
        ref = lookup(args.props, "image")
    else:
        return
    if not isinstance(ref, str):
        return
    problem = image_problem(ref)
    if problem:
        report(
            f"image {problem}; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the "
            "catalogue or the stack's images config, so every deploy runs what was tested.",
            None,
        )


_ES_REF = re.compile(
    r"(?<![\w.-])(?:[a-z0-9.-]+(?::\d+)?/)?(?:[a-z0-9._-]+/)*"
    r"[a-z0-9._-]*elasticsearch[a-z0-9._-]*(?::\w[\w.-]*|@sha256:[0-9a-f]{64})"
)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key in list(value):
            yield from _strings(lookup(value, key), f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence):
        for i, element in enumerate(items(value)):
            yield from _strings(element, f"{path}[{i}]")


def validate_no_elasticsearch(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No resource runs, references or configures Elasticsearch: search lives in PostgreSQL."""
    image_keys = {REMOTE_IMAGE: "name", CONTAINER: "image"}
    found: list[str] = []
    for path, text in _strings(args.props, ""):
        if path == image_keys.get(args.resource_type) and "elasticsearch" in text.lower():
            found.append(f"image '{text}'")
        elif path.startswith("envs[") and text.upper().startswith("ELASTICSEARCH_"):
            found.append(f"variable {text.split('=', 1)[0]}")
        elif _ES_REF.search(text):
            found.append(f"reference '{_ES_REF.search(text).group(0)}' in {path}")  # type: ignore[union-attr]
    if found:
        report(
            f"Elasticsearch is still referenced: {', '.join(found)}. It was replaced by PostgreSQL "
            "full-text search; remove the service, its exporter, its variables and scrape jobs.",
            None,
        )


def validate_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Only allow-listed services (the container metrics exporter) run privileged."""
    if args.resource_type != CONTAINER or lookup(args.props, "privileged") is not True:
        return
    allowed = list(config(args, "privileged-allow-list")["allowedServices"])
    service = service_of(args.props, args.name)
    if service not in allowed:
        report(
            f"container '{service}' is privileged, which gives it the whole host; only "
            f"{', '.join(allowed) or 'no service'} may be. Drop privileged and add the single "
            "capability it needs (cap_add) instead.",
            None,
        )


def environment(configured: Any) -> str:
    """The stack's environment: the policy's setting, else the stack's `<project>:environment`
    config, else the stack name, all as the CLI hands them to the pack."""
    if isinstance(configured, str) and configured:
        return configured
    project = os.environ.get("PULUMI_PROJECT", "")
    try:
        stack_config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        stack_config = {}
    env = stack_config.get(f"{project}:environment") if project else None
    if isinstance(env, str) and env:
        return env
    return os.environ.get("PULUMI_STACK", "")


def validate_published_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In prod only the public edge publishes host ports; elsewhere extra ports bind loopback."""
    if args.resource_type != CONTAINER:
        return
    settings = config(args, "no-internal-ports-published")
    service = service_of(args.props, args.name)
    if service in list(settings["publicServices"]):
        return
    env = environment(settings.get("environment"))
    bad = []
    for port in items(lookup(args.props, "ports")):
        external = lookup(port, "external")
        internal = lookup(port, "internal")
        ip = lookup(port, "ip")
        host_ip = ip if isinstance(ip, str) and ip else "0.0.0.0"
        shown = f"{host_ip}:{_port(external)}->{_port(internal)}"
        if env != "dev" or host_ip not in ("127.0.0.1", "::1"):
            bad.append(shown)
    if bad:
        where = "in prod no internal port may be" if env != "dev" else "ports must bind 127.0.0.1"
        report(
            f"container '{service}' publishes {', '.join(bad)} on the host, but {where}; "
            f"services talk over the internal network and users come in through "
            f"{', '.join(settings['publicServices']) or 'the public edge proxy'}. Remove the port "
            "(prod sets publishPorts: false).",
            None,
        )


def _port(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def validate_data_volumes_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Data volumes are protected, so no replace or destroy can delete them."""
    if args.resource_type != VOLUME or args.opts.protect:
        return
    name = lookup(args.props, "name")
    name = name if isinstance(name, str) else args.name
    if labels(args.props).get(DATA_LABEL) == "false":
        return
    scratch = list(config(args, "data-volumes-protected")["scratchVolumes"])
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in scratch):
        return
    report(
        f"volume '{name}' holds data but is not protected; set protect=True and "
        "retain_on_delete=True on it (the Service component does for data volumes), or label it "
        f"{DATA_LABEL}=false if it only holds scratch data.",
        None,
    )


_SENSITIVE_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|FERNET_KEY|CREDENTIAL", re.IGNORECASE
)
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)


def sensitive_env(entry: str) -> str | None:
    """The variable's name when a `NAME=value` entry carries a credential, else None."""
    name, _, value = entry.partition("=")
    if not value or name.upper().endswith(("_FILE", "_PATH")):
        return None
    if _SENSITIVE_NAME.search(name) or _URL_CREDENTIALS.search(value):
        return name
    return None


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Passwords, keys and credential URLs reach resources only as Pulumi secrets."""
    plain: list[str] = []
    if args.resource_type == CONTAINER:
        for entry in items(lookup(args.props, "envs")):
            if isinstance(entry, str) and not isinstance(entry, SecretStr):
                name = sensitive_env(entry)
                if name:
                    plain.append(name)
    elif args.resource_type == POSTGRES_ROLE:
        password = lookup(args.props, "password")
        if isinstance(password, str) and password and not isinstance(password, SecretStr):
            plain.append("password")
    if plain:
        what = service_of(args.props, args.name)
        report(
            f"'{what}' gets {', '.join(sorted(plain))} in plain text, so it lands unencrypted in "
            "the state and the preview. Pass it as a secret: the Service's secret_env (built from "
            "pulumi-random or `pulumi config set --secret`), or pulumi.Output.secret(...).",
            None,
        )


_GRAFANA_UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


def validate_dashboard_uid(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Dashboards carry a stable uid and no id or version, so links and updates survive."""
    if args.resource_type not in DASHBOARDS:
        return
    raw = lookup(args.props, "configJson")
    if not isinstance(raw, str):
        return
    try:
        dashboard = json.loads(raw)
    except json.JSONDecodeError as exc:
        report(f"dashboard configJson is not valid JSON: {exc}", None)
        return
    if not isinstance(dashboard, dict):
        report("dashboard configJson is not a JSON object", None)
        return
    problems = []
    uid = dashboard.get("uid")
    if not isinstance(uid, str) or not _GRAFANA_UID.match(uid):
        problems.append(f"uid {uid!r} is not a fixed 1-40 character [a-zA-Z0-9_-] string")
    if dashboard.get("id") is not None:
        problems.append("it sets id (Grafana assigns it per instance)")
    if "version" in dashboard:
        problems.append("it sets version (Grafana increments it; a stale one rejects updates)")
    if problems:
        title = dashboard.get("title", args.name)
        report(
            f"dashboard '{title}': {'; '.join(problems)}. Give it a fixed uid and leave id and "
            "version out of the generated JSON.",
            None,
        )


def _normalise(expression: str) -> str:
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return " ".join(text.replace('"', "'").split())


def _triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return {str(t): None for t in raw}
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def deploy_job_problems(content: str, job_pattern: str, branch: str) -> list[str]:
    """Why the workflow's deploy jobs could run on anything but a push to `branch` (empty: fine)."""
    try:
        workflow = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        return [f"the workflow is not valid YAML: {exc}"]
    if not isinstance(workflow, dict):
        return ["the workflow is not a YAML mapping"]
    jobs = workflow.get("jobs") or {}
    triggers = _triggers(workflow)
    push = triggers.get("push")
    push_only_branch = (
        set(triggers) == {"push"}
        and isinstance(push, dict)
        and push.get("branches") == [branch]
        and not push.get("tags")
    )
    wanted_event = "github.event_name == 'push'"
    wanted_ref = f"github.ref == 'refs/heads/{branch}'"
    problems = []
    for job_id, job in jobs.items() if isinstance(jobs, dict) else ():
        if not fnmatch.fnmatchcase(str(job_id), job_pattern) or not isinstance(job, dict):
            continue
        condition = _normalise(str(job.get("if", "")))
        guarded = wanted_event in condition and wanted_ref in condition and "||" not in condition
        if not (guarded or push_only_branch):
            problems.append(
                f"job '{job_id}' runs on {', '.join(sorted(triggers)) or 'any event'} without "
                f"the condition `if: {wanted_event} && {wanted_ref}`"
            )
    return problems


def validate_deploy_only_on_main(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The application CI workflow deploys only on a push to main, never from a pull request."""
    if args.resource_type != REPOSITORY_FILE:
        return
    path = lookup(args.props, "file")
    content = lookup(args.props, "content")
    if not isinstance(path, str) or not isinstance(content, str):
        return
    if not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        return
    settings = config(args, "deploy-only-on-main")
    problems = deploy_job_problems(content, str(settings["deployJobs"]), str(settings["branch"]))
    if problems:
        report(
            f"{path}: {'; '.join(problems)}. Add that condition to the deploy job "
            "(components/workflows/app_ci.py ON_MAIN_PUSH).",
            None,
        )


def _stack_outputs(resources: Sequence[PolicyResource]) -> Any:
    for resource in resources:
        if resource.resource_type == STACK:
            return resource.props
    return None


def _cost(args: StackValidationArgs) -> Any:
    outputs = _stack_outputs(args.resources)
    if outputs is None:
        args.not_applicable("no pulumi:pulumi:Stack resource was analyzed")
    return lookup(outputs, "cost")


def _budget(cost: Any, cap: float) -> float:
    """The budget in force: the pack's cap, or the stack's own budget when that is lower (a stack
    may tighten the owner's $50 rule, never loosen it)."""
    own = lookup(cost, "budgetUsd")
    return min(cap, float(own)) if isinstance(own, int | float) else cap


def validate_within_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    """The billed monthly cost (host plan plus fixed items) stays within the budget."""
    cost = _cost(args)
    budget = _budget(cost, float(config(args, "monthly-cost-within-budget")["budgetUsd"]))
    billed = lookup(cost, "billedUsd")
    if billed is UNKNOWN:
        return
    if not isinstance(billed, int | float):
        report(
            "the stack exports no cost.billedUsd, so the budget cannot be checked; export the "
            "CostReport (`pulumi.export('cost', report.as_output())`).",
            None,
        )
        return
    if billed > budget:
        report(
            f"billed ${billed:.2f}/month exceeds the ${budget:.2f} budget by "
            f"${billed - budget:.2f}; choose a smaller hostPlan, lower service limits or drop a "
            "fixed cost (see `python -m components cost`).",
            None,
        )


def validate_near_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    """Warns when the billed monthly cost passes a share (80%) of the budget."""
    cost = _cost(args)
    settings = config(args, "monthly-cost-near-budget")
    budget = _budget(cost, float(settings["budgetUsd"]))
    warn_at = float(settings["warnAtPct"])
    billed = lookup(cost, "billedUsd")
    if not isinstance(billed, int | float) or billed > budget:
        return
    used = 100 * billed / budget
    if used >= warn_at:
        report(
            f"billed ${billed:.2f}/month is {used:.0f}% of the ${budget:.2f} budget (warning from "
            f"{warn_at:.0f}%); look for limits to trim before the next service pushes it over.",
            None,
        )


def validate_memory_fits_host(args: StackValidationArgs, report: ReportViolation) -> None:
    """Container memory limits plus the OS reserve fit in the host's memory."""
    settings = config(args, "memory-fits-host")
    cost = lookup(_stack_outputs(args.resources), "cost")
    host = settings.get("hostMemoryMib") or lookup(lookup(cost, "plan"), "memoryMib")
    reserve = settings.get("osReserveMib")
    if reserve is None:
        reserve = lookup(lookup(cost, "capacity"), "osReserveMib")
    if not isinstance(host, int | float):
        report(
            "the host's memory is unknown; set hostMemoryMib in this policy's config or export "
            "cost.plan.memoryMib from the program.",
            None,
        )
        return
    reserve = float(reserve) if isinstance(reserve, int | float) else 512.0
    limits = 0.0
    for resource in args.resources:
        if resource.resource_type == CONTAINER:
            memory = lookup(resource.props, "memory")
            if isinstance(memory, int | float):
                limits += float(memory)
    if limits + reserve > host:
        report(
            f"container memory limits {limits:g} MiB + OS reserve {reserve:g} MiB = "
            f"{limits + reserve:g} MiB exceed the host's {host:g} MiB; lower limits or choose a "
            "larger hostPlan, or containers will be OOM-killed under load.",
            None,
        )


def _scrape_jobs(content: str) -> dict[str, tuple[str, list[str]]]:
    loaded = yaml.safe_load(content) or {}
    jobs: dict[str, tuple[str, list[str]]] = {}
    for job in loaded.get("scrape_configs") or [] if isinstance(loaded, dict) else []:
        if not isinstance(job, dict) or "job_name" not in job:
            continue
        targets = [
            str(t)
            for static in job.get("static_configs") or []
            if isinstance(static, dict)
            for t in static.get("targets") or []
        ]
        jobs[str(job["job_name"])] = (str(job.get("metrics_path", "/metrics")), targets)
    return jobs


def _aliases(props: Any) -> set[str]:
    names = {n for n in [lookup(props, "name")] if isinstance(n, str)}
    for network in items(lookup(props, "networksAdvanced")):
        names.update(a for a in items(lookup(network, "aliases")) if isinstance(a, str))
    return names


def validate_scrape_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every metrics endpoint a container declares (label) has a matching Prometheus scrape job."""
    path = config(args, "metrics-scrape-coverage")["prometheusConfigPath"]
    containers = [r for r in args.resources if r.resource_type == CONTAINER]
    content: Any = None
    for container in containers:
        for upload in items(lookup(container.props, "uploads")):
            if lookup(upload, "file") == path:
                content = lookup(upload, "content")
    if content is UNKNOWN:
        return
    try:
        jobs = _scrape_jobs(content) if isinstance(content, str) else None
    except yaml.YAMLError as exc:
        report(f"the Prometheus config at {path} is not valid YAML: {exc}", None)
        return
    for container in containers:
        service = service_of(container.props, container.name)
        for key, value in labels(container.props).items():
            if not key.startswith(METRICS_LABEL_PREFIX):
                continue
            job = key.removeprefix(METRICS_LABEL_PREFIX)
            port, sep, metrics_path = value.partition(":")
            if not sep or not port.isdigit() or not metrics_path.startswith("/"):
                report(
                    f"label {key}={value!r} must read '<port>:<path>', e.g. '8000:/metrics'.", None
                )
                continue
            where = f"'{service}' exposes metrics on :{port}{metrics_path} (label {key})"
            if jobs is None:
                report(
                    f"{where} but no Prometheus config is uploaded at {path}; upload the "
                    "generated prometheus.yml into the prometheus container.",
                    container.urn,
                )
                continue
            problem = _job_problem(jobs, job, port, metrics_path, _aliases(container.props))
            if problem:
                report(
                    f"{where} but {problem}; derive the scrape jobs from the catalogue's metrics "
                    "endpoints.",
                    container.urn,
                )


def _job_problem(
    jobs: Mapping[str, tuple[str, list[str]]], job: str, port: str, path: str, hosts: set[str]
) -> str | None:
    if job not in jobs:
        return f"prometheus.yml has no scrape job '{job}'"
    job_path, targets = jobs[job]
    if job_path != path:
        return f"scrape job '{job}' scrapes {job_path}"
    if not any(t.rpartition(":")[2] == port and t.rpartition(":")[0] in hosts for t in targets):
        return f"scrape job '{job}' has no target <{'|'.join(sorted(hosts))}>:{port}"
    return None


def _schema(policy: str, properties: Mapping[str, Mapping[str, Any]]) -> PolicyConfigSchema:
    """A config schema whose documented defaults are the ones `DEFAULTS` applies."""
    documented = {
        key: {**spec, **({"default": DEFAULTS[policy][key]} if DEFAULTS[policy][key] else {})}
        for key, spec in properties.items()
    }
    return PolicyConfigSchema(properties=documented)


def build_policies() -> list[Policy]:
    """Every policy of the pack, in the order `plan` reports them."""
    mandatory = EnforcementLevel.MANDATORY
    number = {"type": "number"}
    strings = {"type": "array", "items": {"type": "string"}}
    return [
        StackValidationPolicy(
            name="monthly-cost-within-budget",
            description="The billed monthly cost of the stack stays within the budget.",
            validate=validate_within_budget,
            enforcement_level=mandatory,
            config_schema=_schema("monthly-cost-within-budget", {"budgetUsd": number}),
        ),
        StackValidationPolicy(
            name="monthly-cost-near-budget",
            description="Warns when the billed monthly cost reaches 80% of the budget.",
            validate=validate_near_budget,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=_schema(
                "monthly-cost-near-budget", {"budgetUsd": number, "warnAtPct": number}
            ),
        ),
        StackValidationPolicy(
            name="memory-fits-host",
            description="Container memory limits plus the OS reserve fit in the host's memory.",
            validate=validate_memory_fits_host,
            enforcement_level=mandatory,
            config_schema=_schema(
                "memory-fits-host", {"hostMemoryMib": number, "osReserveMib": number}
            ),
        ),
        StackValidationPolicy(
            name="metrics-scrape-coverage",
            description="Every metrics endpoint a container declares has a Prometheus scrape job.",
            validate=validate_scrape_coverage,
            enforcement_level=mandatory,
            config_schema=_schema(
                "metrics-scrape-coverage", {"prometheusConfigPath": {"type": "string"}}
            ),
        ),
        ResourceValidationPolicy(
            name="container-resource-limits",
            description="Every container sets a CPU limit and a memory limit.",
            validate=validate_container_limits,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="container-health-check",
            description="Every container has a health check that runs a command.",
            validate=validate_container_healthcheck,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="container-restart-policy",
            description="Every container restarts after a crash or a host reboot.",
            validate=validate_container_restart,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="images-pinned",
            description="Images are pinned to a version tag or a digest, never latest or untagged.",
            validate=validate_images_pinned,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="no-elasticsearch",
            description="Nothing runs or references Elasticsearch; search lives in PostgreSQL.",
            validate=validate_no_elasticsearch,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="privileged-allow-list",
            description="Only allow-listed services (container metrics exporter) are privileged.",
            validate=validate_privileged,
            enforcement_level=mandatory,
            config_schema=_schema("privileged-allow-list", {"allowedServices": strings}),
        ),
        ResourceValidationPolicy(
            name="no-internal-ports-published",
            description="In prod only the public edge proxy publishes ports on the host.",
            validate=validate_published_ports,
            enforcement_level=mandatory,
            config_schema=_schema(
                "no-internal-ports-published",
                {"environment": {"type": "string"}, "publicServices": strings},
            ),
        ),
        ResourceValidationPolicy(
            name="data-volumes-protected",
            description="Data volumes are protected against deletion by a replace or destroy.",
            validate=validate_data_volumes_protected,
            enforcement_level=mandatory,
            config_schema=_schema("data-volumes-protected", {"scratchVolumes": strings}),
        ),
        ResourceValidationPolicy(
            name="no-plaintext-secrets",
            description="Passwords, keys and credential URLs reach resources only as secrets.",
            validate=validate_no_plaintext_secrets,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="grafana-dashboard-stable-uid",
            description="Grafana dashboards have a fixed uid and no id or version.",
            validate=validate_dashboard_uid,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="deploy-only-on-main",
            description="The app CI workflow deploys only on a push to main.",
            validate=validate_deploy_only_on_main,
            enforcement_level=mandatory,
            config_schema=_schema(
                "deploy-only-on-main",
                {"deployJobs": {"type": "string"}, "branch": {"type": "string"}},
            ),
        ),
    ]
