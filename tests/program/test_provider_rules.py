"""What the real providers and daemons do with the program's resources, encoded as rules.

The SDK's mocks accept any input, so a program can pass every mock test and fail its first real
`pulumi up`. Each rule below is one thing a provider or daemon really does with an input, read from
its source, with a one-line citation; it is checked against the resources the real program records
for dev, prod and a stack with every optional feature switched on. Each rule also has a planted
defect it must catch, so none of them can pass vacuously.

Sources (as pinned: pulumi-docker 5.2.0 bridges kreuzwerker/terraform-provider-docker v4.5.x;
pulumiverse-grafana 2.x bridges grafana/terraform-provider-grafana; the Docker daemon is moby):
  KD  kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container_funcs.go
  KS  kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container.go (schema)
  MA  moby/moby daemon/archive_unix.go
  MU  moby/moby daemon/daemon_unix.go
  MC  moby/moby daemon/container.go
  MO  moby/moby daemon/container_operations.go
  MN  moby/moby daemon/names/names.go, daemon/volume/local/local.go
  GR  grafana/grafana pkg/services/ngalert/models/alert_rule.go
  GP  grafana/terraform-provider-grafana internal/resources/grafana/resource_alerting_rule_group.go
  HS  hetznercloud/terraform-provider-hcloud internal/server/resource.go (pulumi-hcloud bridges it)
  HP  hetznercloud/terraform-provider-hcloud internal/primaryip/resource.go
  HF  hetznercloud/terraform-provider-hcloud internal/firewall/resource.go, validation.go
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network
from typing import Any

import pytest

from commands.offline import PlanResult, run_program

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
CAPABILITIES = {
    *("AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE"),
    *("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER"),
    *("KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN"),
    *("NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP"),
    *("SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE"),
    *("SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG"),
    *("WAKE_ALARM", "ALL"),
}


@dataclass
class Res:
    """A recorded resource with its inputs as the provider receives them (secrets revealed)."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass
class Stack:
    """The resources of one stack and the host they run on."""

    name: str
    resources: list[Res]
    host_vcpus: int
    extra: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources if r.type == type_]


def _stack(name: str, result: PlanResult) -> Stack:
    resources = [
        Res(
            r.type,
            r.name,
            r.urn,
            r.unmasked_inputs(),
            list(r.dependencies),
            list(r.ignore_changes),
            r.delete_before_replace,
        )
        for r in result.resources
    ]
    return Stack(name, resources, int(result.outputs["cost"]["plan"]["vcpus"]))


FULL_OVERRIDES: dict[str, Any] = {
    "registry": {"address": "ghcr.io", "username": "deploy-bot"},
    "tls": {"mode": "provided"},
    "adoptVolumes": {"postgres-data": "investment_db_data", "redis-data": "investment_redis"},
    "backup": {"schedule": "02:00", "keepDaily": 5, "offhostDir": "/mnt/storagebox"},
    "alerting": {
        "emailAddresses": ["ops@invest.example.com"],
        "smtpHost": "smtp.invest.example.com:587",
        "smtpFrom": "alerts@invest.example.com",
    },
}
FULL_SECRETS = {
    "registryPassword": "ghp_token",
    "tlsCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "tlsPrivateKey": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    "alertingWebhookUrl": "https://hooks.example.com/services/T0K3N",
    "smtpPassword": "relay-password",
}


MANAGED_OVERRIDES: dict[str, Any] = {
    "dockerHost": "unix:///var/run/docker.sock",
    "host": {
        "mode": "hetzner",
        "location": "hel1",
        "adminNetworks": ["198.51.100.0/24", "2001:db8:42::/48"],
        "sshKeys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA"
        ],
        "backups": True,
    },
}
STACKS = ["dev", "prod", "full", "managed"]


@pytest.fixture(scope="module")
def stacks() -> dict[str, Stack]:
    return {
        "dev": _stack("dev", run_program("dev")),
        "prod": _stack("prod", run_program("prod")),
        "full": _stack("full", run_program("prod", overrides=FULL_OVERRIDES, secrets=FULL_SECRETS)),
        "managed": _stack("managed", run_program("prod", overrides=MANAGED_OVERRIDES)),
    }


RULES: dict[str, Callable[[Stack], list[str]]] = {}


def rule(function: Callable[[Stack], Iterator[str]]) -> Callable[[Stack], Iterator[str]]:
    """Register a rule: a generator of violations, one message each."""
    RULES[function.__name__] = lambda stack: list(function(stack))
    return function


def _labels(res: Res) -> dict[str, str]:
    return {e["label"]: e["value"] for e in res.inputs.get("labels") or []}


def _is_job(res: Res) -> bool:
    return bool(res.inputs.get("attach")) and res.inputs.get("mustRun") is False


def _seconds(duration: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(
        float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    )


@rule
def uploads_need_a_writable_root(stack: Stack) -> Iterator[str]:
    """MA checkWritablePath: an extraction outside a volume into a read-only rootfs fails with
    "container rootfs is marked read-only"; KD copies every upload with CopyToContainer to "/"."""
    for c in stack.of_type(CONTAINER):
        if c.inputs.get("uploads") and c.inputs.get("readOnly"):
            yield f"{c.name}: uploads into a read-only root filesystem"


@rule
def wait_needs_a_health_check(stack: Stack) -> Iterator[str]:
    """KD create: with `wait` and no healthcheck the provider errors ("you have supplied a 'wait'
    argument, but the container does not have a healthcheck defined")."""
    for c in stack.of_type(CONTAINER):
        tests = (c.inputs.get("healthcheck") or {}).get("tests") or []
        if c.inputs.get("wait") and (not tests or tests[0] == "NONE"):
            yield f"{c.name}: wait without a health check"


@rule
def wait_timeout_covers_the_first_healthy_check(stack: Stack) -> Iterator[str]:
    """KD create: `pulumi up` fails when the container is not healthy within wait_timeout seconds
    (default 60); Docker marks it healthy on the first passing check, which can come only after the
    start period and one interval, and may take the check's timeout."""
    for c in stack.of_type(CONTAINER):
        hc = c.inputs.get("healthcheck") or {}
        if not c.inputs.get("wait"):
            continue
        needed = sum(_seconds(hc.get(k, "0s")) for k in ("startPeriod", "interval", "timeout"))
        if c.inputs.get("waitTimeout", 60) < needed:
            yield f"{c.name}: wait_timeout {c.inputs.get('waitTimeout', 60)} s < {needed:g} s"


@rule
def containers_get_a_stop_grace(stack: Stack) -> Iterator[str]:
    """KD delete: the container is stopped with a timeout of destroy_grace_seconds, 0 when unset
    (SIGKILL right after SIGTERM); KS stop_timeout is the StopTimeout Docker uses on `docker stop`
    and at daemon shutdown."""
    for c in stack.of_type(CONTAINER):
        if not c.inputs.get("destroyGraceSeconds") or not c.inputs.get("stopTimeout"):
            yield f"{c.name}: no destroy_grace_seconds/stop_timeout: killed without a clean stop"


@rule
def one_shot_jobs_are_kept_and_not_restarted(stack: Stack) -> Iterator[str]:
    """KD read: a stopped container with must_run=true has must_run flipped to false in state, a
    diff on every run; with rm=true it disappears and is created again after each refresh; KD create
    waits for it to exit only with attach; a restart policy would run it again and again."""
    for c in stack.of_type(CONTAINER):
        if not c.inputs.get("attach"):
            continue
        if c.inputs.get("mustRun") is not False or c.inputs.get("rm"):
            yield f"{c.name}: a one-shot job needs must_run=false and no rm"
        if c.inputs.get("restart", "no") != "no":
            yield f"{c.name}: a one-shot job must not restart"
        if c.inputs.get("wait"):
            yield f"{c.name}: a one-shot job has no health to wait for"


@rule
def health_check_durations_are_valid(stack: Stack) -> Iterator[str]:
    """KS healthcheck: interval, timeout, start_period are Go durations (validateDurationGeq0);
    MC validateHealthCheck: each non-zero one is at least 1 ms, retries not negative."""
    for c in stack.of_type(CONTAINER):
        hc = c.inputs.get("healthcheck")
        if not hc:
            continue
        for key in ("interval", "timeout", "startPeriod"):
            value = hc.get(key, "0s")
            if not DURATION.match(value) or 0 < _seconds(value) < 0.001:
                yield f"{c.name}: healthcheck {key} {value!r}"
        if hc.get("retries", 0) < 0:
            yield f"{c.name}: negative retries"


def _go_duration_string(seconds: float) -> str:
    """Go's time.Duration.String() (src/time/time.go), ported line by line for whole seconds of at
    least one: the text is built from the right, seconds first, and stops at hours."""
    u = int(seconds)
    if u == 0:
        return "0s"
    text = "s"
    text = f"{u % 60}{text}"  # fmtFrac leaves no fraction for whole seconds; fmtInt(u % 60)
    u //= 60
    if u > 0:
        text = f"{u % 60}m{text}"
        u //= 60
        if u > 0:
            text = f"{u}h{text}"
    return text


@rule
def health_check_durations_read_back_unchanged(stack: Stack) -> Iterator[str]:
    """KD read: the health check is stored back as Healthcheck.Interval.String() (and Timeout,
    StartPeriod), with no DiffSuppressFunc in KS; a duration written otherwise ("300s" for
    "5m0s") differs from the state after every create and shows as a change on every preview."""
    for c in stack.of_type(CONTAINER):
        for key, value in (c.inputs.get("healthcheck") or {}).items():
            durations = ("interval", "timeout", "startPeriod", "startInterval")
            if key in durations and value != _go_duration_string(_seconds(value)):
                yield f"{c.name}: healthcheck {key} {value!r} reads back as Go's string"


def _nano_to_decimal_string(nanos: int) -> str:
    """kreuzwerker helpers.go nanoInt64ToDecimalString, line by line: big.Rat.FloatString(9);
    when the text holds exactly nine "0" characters, FloatString(1) (halves away from zero);
    else trailing zeros trimmed."""
    from decimal import ROUND_HALF_UP, Decimal

    if nanos == 0:
        return "0"
    value = Decimal(nanos) / Decimal(1_000_000_000)
    text = f"{value.quantize(Decimal('0.000000001'))}"
    if text.count("0") == 9:
        return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"
    return text.rstrip("0")


@rule
def cpus_read_back_unchanged(stack: Stack) -> Iterator[str]:
    """KD read: `cpus` is stored back as nanoInt64ToDecimalString(NanoCPUs) (helpers.go), which
    turns 0.05 into "0.1" and 1 into "1.0"; KS `cpus` forces a replacement, so a limit written
    otherwise replaces the container on every `pulumi up`."""
    for c in stack.of_type(CONTAINER):
        text = c.inputs["cpus"]
        nanos = round(float(text) * 1_000_000_000)
        if text != _nano_to_decimal_string(nanos):
            yield f"{c.name}: cpus {text!r} reads back as {_nano_to_decimal_string(nanos)!r}"


@rule
def capabilities_read_back_unchanged(stack: Stack) -> Iterator[str]:
    """moby client/container_create.go normalizeCapabilities: the Docker client upper-cases and
    prefixes CAP_ before it sends them, so the daemon stores `CAP_CHOWN`; KD read stores that back
    and KS `capabilities` forces a replacement ("TODO implement DiffSuppressFunc")."""
    for c in stack.of_type(CONTAINER):
        caps = c.inputs.get("capabilities") or {}
        for cap in caps.get("adds") or []:
            if cap != "ALL" and not re.fullmatch(r"CAP_[A-Z_]+", cap):
                yield f"{c.name}: capability {cap!r} is stored as CAP_{cap.upper()}"


@rule
def memory_limits_are_accepted(stack: Stack) -> Iterator[str]:
    """MU verifyPlatformContainerResources: "Minimum memory limit allowed is 6MB" and "Minimum
    memoryswap limit should be larger than memory limit" (KS: both in MB, times 1024*1024)."""
    for c in stack.of_type(CONTAINER):
        memory, swap = c.inputs.get("memory", 0), c.inputs.get("memorySwap", 0)
        if memory < 6:
            yield f"{c.name}: memory {memory} MiB < 6"
        if swap and swap < memory:
            yield f"{c.name}: memory_swap {swap} < memory {memory}"


@rule
def cpu_limits_fit_the_host(stack: Stack) -> Iterator[str]:
    """MU: "range of CPUs is from 0.01 to N.00, as there are only N CPUs available" (NanoCPUs from
    KS `cpus`, a decimal string)."""
    for c in stack.of_type(CONTAINER):
        cpus = float(c.inputs["cpus"])
        if not 0.01 <= cpus <= stack.host_vcpus:
            yield f"{c.name}: cpus {cpus:g} outside 0.01..{stack.host_vcpus}"


@rule
def command_entries_are_not_empty(stack: Stack) -> Iterator[str]:
    """KD create: "values for command may not be empty"."""
    for c in stack.of_type(CONTAINER):
        if any(part == "" for part in c.inputs.get("command") or []):
            yield f"{c.name}: an empty command entry"


@rule
def docker_names_are_valid_and_unique(stack: Stack) -> Iterator[str]:
    """MN RestrictedNameChars `[a-zA-Z0-9][a-zA-Z0-9_.-]` for container names, and local volume
    names ("includes invalid characters for a local volume name"); a name in use is a conflict."""
    for type_ in (CONTAINER, VOLUME, NETWORK):
        names = [r.inputs["name"] for r in stack.of_type(type_)]
        for name in names:
            if not DOCKER_NAME.match(name):
                yield f"{type_}: invalid name {name!r}"
        for name, count in Counter(names).items():
            if count > 1:
                yield f"{type_}: {name!r} used {count} times"


@rule
def host_ports_are_unique(stack: Stack) -> Iterator[str]:
    """Docker binds each host address and port once ("port is already allocated")."""
    bound = Counter(
        (p.get("ip", "0.0.0.0"), p["external"])
        for c in stack.of_type(CONTAINER)
        for p in c.inputs.get("ports") or []
    )
    for (ip, port), count in bound.items():
        if count > 1:
            yield f"{ip}:{port} bound {count} times"


@rule
def fixed_addresses_fit_the_network(stack: Stack) -> Iterator[str]:
    """MO validateEndpointIPAddress: "no configured subnet contains IP address"; libnetwork's IPAM
    gives other containers addresses from ip_range, so a fixed one inside it could be taken first;
    the gateway is the bridge's own."""
    (network,) = stack.of_type(NETWORK)
    (ipam,) = network.inputs["ipamConfigs"]
    subnet, dynamic = IPv4Network(ipam["subnet"]), IPv4Network(ipam["ipRange"])
    if not dynamic.subnet_of(subnet) or IPv4Address(ipam["gateway"]) not in subnet:
        yield f"ip_range {dynamic} or gateway {ipam['gateway']} outside {subnet}"
    fixed = []
    for c in stack.of_type(CONTAINER):
        for attachment in c.inputs.get("networksAdvanced") or []:
            address = attachment.get("ipv4Address")
            if address is None:
                continue
            fixed.append(address)
            ip = IPv4Address(address)
            if ip not in subnet or ip in dynamic or address == ipam["gateway"]:
                yield f"{c.name}: fixed address {address} not in {subnet} outside {dynamic}"
    for address, count in Counter(fixed).items():
        if count > 1:
            yield f"{address} given to {count} containers"


@rule
def network_none_means_no_other_network(stack: Stack) -> Iterator[str]:
    """A container with network_mode "none" cannot also join networks or publish ports (Docker:
    "conflicting options: port publishing and the container type network mode")."""
    for c in stack.of_type(CONTAINER):
        if c.inputs.get("networkMode") == "none" and (
            c.inputs.get("networksAdvanced") or c.inputs.get("ports")
        ):
            yield f"{c.name}: network_mode none with networks or ports"


@rule
def upload_permissions_are_octal(stack: Stack) -> Iterator[str]:
    """KS upload.permissions: validateStringMatchesPattern(`^0[0-7]{3}$`); KD writes the tar entry
    with that mode and uid 0, so a file for a non-root user needs its read bit for others."""
    for c in stack.of_type(CONTAINER):
        for upload in c.inputs.get("uploads") or []:
            mode = upload.get("permissions", "")
            if not re.fullmatch(r"0[0-7]{3}", mode):
                yield f"{c.name}: {upload['file']} permissions {mode!r}"


@rule
def restart_policies_are_known(stack: Stack) -> Iterator[str]:
    """KS restart: validateStringMatchesPattern(`^(no|on-failure|always|unless-stopped)$`)."""
    for c in stack.of_type(CONTAINER):
        if not re.fullmatch(r"no|on-failure|always|unless-stopped", c.inputs.get("restart", "no")):
            yield f"{c.name}: restart {c.inputs.get('restart')!r}"


@rule
def json_file_log_options_are_valid(stack: Stack) -> Iterator[str]:
    """moby daemon/logger/jsonfilelog: max-size is a size (e.g. 10m), max-file a positive integer,
    and only with max-size."""
    for c in stack.of_type(CONTAINER):
        opts = c.inputs.get("logOpts") or {}
        if c.inputs.get("logDriver") != "json-file":
            yield f"{c.name}: log driver {c.inputs.get('logDriver')!r}"
            continue
        if (
            not re.fullmatch(r"\d+[kmg]", opts.get("max-size", ""))
            or not str(opts.get("max-file", "")).isdigit()
        ):
            yield f"{c.name}: log options {opts}"


@rule
def capabilities_are_known(stack: Stack) -> Iterator[str]:
    """moby daemon/pkg/oci/caps/utils.go NormalizeLegacyCapabilities: "unknown capability"."""
    for c in stack.of_type(CONTAINER):
        caps = c.inputs.get("capabilities") or {}
        for cap in (*(caps.get("adds") or []), *(caps.get("drops") or [])):
            if cap.removeprefix("CAP_") not in CAPABILITIES:
                yield f"{c.name}: unknown capability {cap!r}"


@rule
def mount_points_are_distinct(stack: Stack) -> Iterator[str]:
    """moby daemon/errors.go: "Duplicate mount point" when two mounts (volumes, binds, tmpfs)
    target one path."""
    for c in stack.of_type(CONTAINER):
        paths = [v["containerPath"] for v in c.inputs.get("volumes") or []]
        paths += list((c.inputs.get("tmpfs") or {}).keys())
        for path, count in Counter(paths).items():
            if count > 1:
                yield f"{c.name}: {path} mounted {count} times"
            if not path.startswith("/"):
                yield f"{c.name}: mount point {path!r} is not absolute"


@rule
def rule_group_intervals_suit_grafanas_scheduler(stack: Stack) -> Iterator[str]:
    """GR ValidateRuleGroupInterval: "interval should be non-zero and divided exactly by scheduler
    interval" (10 s by default)."""
    for group in stack.of_type(RULE_GROUP):
        interval = group.inputs["intervalSeconds"]
        if interval <= 0 or interval % 10:
            yield f"{group.name}: interval {interval} s"


@rule
def alert_rules_use_the_states_grafana_knows(stack: Stack) -> Iterator[str]:
    """GP rule schema: no_data_state in OK, NoData, KeepLast, Alerting; exec_err_state in OK,
    Error, KeepLast, Alerting; `condition` is required and names a data ref_id; `for` a duration;
    GP create: a rule uid may appear once per group."""
    for group in stack.of_type(RULE_GROUP):
        uids = Counter(r["uid"] for r in group.inputs["rules"])
        for uid, count in uids.items():
            if count > 1:
                yield f"{group.name}: rule uid {uid} {count} times"
        for r in group.inputs["rules"]:
            if r.get("noDataState") not in ("OK", "NoData", "KeepLast", "Alerting"):
                yield f"{r['name']}: no_data_state {r.get('noDataState')!r}"
            if r.get("execErrState") not in ("OK", "Error", "KeepLast", "Alerting"):
                yield f"{r['name']}: exec_err_state {r.get('execErrState')!r}"
            if r.get("condition") not in {d["refId"] for d in r["datas"]}:
                yield f"{r['name']}: condition {r.get('condition')!r} names no data ref_id"
            if not DURATION.match(r.get("for", "0s")):
                yield f"{r['name']}: for {r.get('for')!r}"


@rule
def grafana_uids_fit_grafanas_limits(stack: Stack) -> Iterator[str]:
    """Grafana dashboards and folders: uid at most 40 characters of [a-zA-Z0-9_-] (the provider's
    folderUIDValidation and Grafana's dashboard uid check)."""
    uids = [f.inputs["uid"] for f in stack.of_type("grafana:oss/folder:Folder")]
    uids += [f.inputs["uid"] for f in stack.of_type("grafana:oss/dataSource:DataSource")]
    for uid in uids:
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid):
            yield f"uid {uid!r}"


@rule
def postgres_names_fit_identifiers(stack: Stack) -> Iterator[str]:
    """PostgreSQL truncates identifiers to NAMEDATALEN-1 = 63 bytes, and CREATE DATABASE with an
    encoding other than template1's needs template0."""
    for r in stack.of_type("postgresql:index/role:Role") + stack.of_type(
        "postgresql:index/database:Database"
    ):
        if len(r.inputs["name"].encode()) > 63:
            yield f"{r.name}: name longer than 63 bytes"
    for db in stack.of_type("postgresql:index/database:Database"):
        if db.inputs.get("encoding") and db.inputs.get("template") != "template0":
            yield f"{db.name}: an explicit encoding needs template0"


@rule
def repository_files_are_relative_paths(stack: Stack) -> Iterator[str]:
    """pulumi-github RepositoryFile: `repository` is the name without the owner (the provider's
    owner applies) and `file` a path inside it, without a leading slash."""
    for f in stack.of_type("github:index/repositoryFile:RepositoryFile"):
        if "/" in f.inputs["repository"] or f.inputs["file"].startswith("/"):
            yield f"{f.name}: repository {f.inputs['repository']!r} file {f.inputs['file']!r}"


SERVER = "hcloud:index/server:Server"
PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp"
FIREWALL = "hcloud:index/firewall:Firewall"
HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HCLOUD_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")
HCLOUD_LABEL_KEY = re.compile(
    r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
)


@rule
def managed_server_changes_never_wipe_the_host(stack: Stack) -> Iterator[str]:
    """HS: user_data, ssh_keys, image and location are ForceNew, so changing one replaces (and
    wipes) the server: the program ignores later changes to the first two and keeps the others
    constant; server_type changes in place (ChangeType), keep_disk keeps smaller plans possible."""
    for server in stack.of_type(SERVER):
        if sorted(server.ignore_changes) != ["sshKeys", "userData"]:
            yield f"{server.name}: ignore_changes {server.ignore_changes}"
        if server.inputs.get("keepDisk") is not True:
            yield f"{server.name}: keepDisk {server.inputs.get('keepDisk')}"


@rule
def primary_ips_outlive_their_server(stack: Stack) -> Iterator[str]:
    """HP: auto_delete true deletes the Primary IP with its server ("will break the terraform
    state"); an IP is assigned to one server at a time (Hetzner API), so the server is deleted
    before its replacement is created; `datacenter` is removed in favour of `location` (HS, HP)."""
    for ip in stack.of_type(PRIMARY_IP):
        if ip.inputs.get("autoDelete") is not False or ip.inputs.get("assigneeType") != "server":
            yield f"{ip.name}: autoDelete {ip.inputs.get('autoDelete')}"
    for res in [*stack.of_type(PRIMARY_IP), *stack.of_type(SERVER)]:
        if "datacenter" in res.inputs or not res.inputs.get("location"):
            yield f"{res.name}: datacenter/location {res.inputs.get('datacenter')}"
    for server in stack.of_type(SERVER):
        if stack.of_type(PRIMARY_IP) and not server.delete_before_replace:
            yield f"{server.name}: replaced with its primary IPs still assigned"


@rule
def firewall_rules_read_back_unchanged(stack: Stack) -> Iterator[str]:
    """HF: direction in|out, protocol tcp|udp|icmp|esp|gre; source IPs are CIDR blocks that start
    their block (validateIPDiag) and are stored as the API normalizes them (normalizeIP: lower
    case, minimal IPv6), so any other spelling diffs forever; tcp and udp rules need a port
    (Hetzner API)."""
    for firewall in stack.of_type(FIREWALL):
        for rule_ in firewall.inputs.get("rules") or []:
            if rule_.get("direction") not in ("in", "out"):
                yield f"{firewall.name}: direction {rule_.get('direction')}"
            if rule_.get("protocol") not in ("tcp", "udp", "icmp", "esp", "gre"):
                yield f"{firewall.name}: protocol {rule_.get('protocol')}"
            if rule_.get("protocol") in ("tcp", "udp") and not rule_.get("port"):
                yield f"{firewall.name}: {rule_.get('protocol')} rule without a port"
            for source in rule_.get("sourceIps") or []:
                try:
                    normal = str(ip_network(source, strict=True))
                except ValueError:
                    normal = ""
                if normal != source:
                    yield f"{firewall.name}: source {source!r} reads back as {normal!r}"


def _integral(value: object) -> bool:
    # The wire format carries every number as a double; a Hetzner ID given as a string (the
    # resource's own `id` output) is what the provider refuses.
    return isinstance(value, int | float) and float(value).is_integer()


@rule
def hcloud_ids_are_numbers_and_names_are_host_names(stack: Stack) -> Iterator[str]:
    """HS: firewall_ids is a set of integers and public_net's ipv4/ipv6 are integer IDs; ssh_keys
    are non-empty IDs or names. Hetzner API: a server's name is a valid host name; label keys are
    an optional DNS prefix and a name of at most 63 characters, values at most 63."""
    for server in stack.of_type(SERVER):
        inputs = server.inputs
        if not HOSTNAME_LABEL.match(inputs.get("name", "")):
            yield f"{server.name}: name {inputs.get('name')!r}"
        if not all(_integral(i) for i in inputs.get("firewallIds") or []):
            yield f"{server.name}: firewallIds {inputs.get('firewallIds')}"
        for net in inputs.get("publicNets") or []:
            if not all(_integral(net.get(k)) for k in ("ipv4", "ipv6")):
                yield f"{server.name}: publicNets {net}"
        if not all(isinstance(k, str) and k for k in inputs.get("sshKeys") or []):
            yield f"{server.name}: sshKeys {inputs.get('sshKeys')}"
    for res in stack.resources:
        if res.type.startswith("hcloud:"):
            for key, value in (res.inputs.get("labels") or {}).items():
                if not HCLOUD_LABEL_KEY.match(key) or not HCLOUD_LABEL_VALUE.match(value):
                    yield f"{res.name}: label {key}={value}"


def _first(stack: Stack, type_: str, where: Callable[[Res], bool] = lambda r: True) -> Res:
    return next(r for r in stack.resources if r.type == type_ and where(r))


def _service(stack: Stack, name: str) -> Res:
    return _first(
        stack,
        CONTAINER,
        lambda r: _labels(r).get("com.investment-platform.service") == name and not _is_job(r),
    )


PLANTS: dict[str, Callable[[Stack], None]] = {
    "uploads_need_a_writable_root": lambda s: _service(s, "nginx").inputs.update(
        uploads=[{"file": "/etc/nginx/generated/nginx.conf", "content": "x"}]
    ),
    "wait_needs_a_health_check": lambda s: _service(s, "redis").inputs.pop("healthcheck"),
    "wait_timeout_covers_the_first_healthy_check": lambda s: _service(s, "airflow").inputs.update(
        waitTimeout=60
    ),
    "containers_get_a_stop_grace": lambda s: _service(s, "postgres").inputs.pop(
        "destroyGraceSeconds"
    ),
    "one_shot_jobs_are_kept_and_not_restarted": lambda s: _first(
        s, CONTAINER, _is_job
    ).inputs.update(mustRun=True),
    "health_check_durations_are_valid": lambda s: (
        _service(s, "redis").inputs["healthcheck"].update(interval="10 seconds")
    ),
    "health_check_durations_read_back_unchanged": lambda s: (
        _service(s, "backup").inputs["healthcheck"].update(interval="300s")
    ),
    "cpus_read_back_unchanged": lambda s: _service(s, "redis").inputs.update(cpus="0.05"),
    "capabilities_read_back_unchanged": lambda s: (
        _service(s, "nginx").inputs["capabilities"].update(adds=["NET_BIND_SERVICE"])
    ),
    "memory_limits_are_accepted": lambda s: _service(s, "redis").inputs.update(memorySwap=64),
    "cpu_limits_fit_the_host": lambda s: _service(s, "redis").inputs.update(cpus="8"),
    "command_entries_are_not_empty": lambda s: (
        _service(s, "prometheus").inputs["command"].append("")
    ),
    "docker_names_are_valid_and_unique": lambda s: _service(s, "redis").inputs.update(
        name="investment-postgres"
    ),
    "host_ports_are_unique": lambda s: _service(s, "redis").inputs.update(
        ports=[{"internal": 6379, "external": 443, "ip": "0.0.0.0"}]
    ),
    "fixed_addresses_fit_the_network": lambda s: _service(s, "redis").inputs.update(
        networksAdvanced=[{"name": "x", "ipv4Address": "172.30.0.200"}]
    ),
    "network_none_means_no_other_network": lambda s: _first(
        s, CONTAINER, lambda r: r.inputs.get("networkMode") == "none"
    ).inputs.update(ports=[{"internal": 1, "external": 1}]),
    "upload_permissions_are_octal": lambda s: (
        _first(s, CONTAINER, lambda r: bool(r.inputs.get("uploads")))
        .inputs["uploads"][0]
        .update(permissions="755")
    ),
    "restart_policies_are_known": lambda s: _service(s, "redis").inputs.update(restart="never"),
    "json_file_log_options_are_valid": lambda s: _service(s, "redis").inputs.update(
        logOpts={"max-size": "10MB", "max-file": "3"}
    ),
    "capabilities_are_known": lambda s: (
        _service(s, "nginx").inputs["capabilities"].update(adds=["NET_BIND"])
    ),
    "mount_points_are_distinct": lambda s: (
        _service(s, "postgres").inputs["tmpfs"].update({"/data": "rw"})
    ),
    "rule_group_intervals_suit_grafanas_scheduler": lambda s: _first(s, RULE_GROUP).inputs.update(
        intervalSeconds=15
    ),
    "alert_rules_use_the_states_grafana_knows": lambda s: (
        _first(s, RULE_GROUP).inputs["rules"][0].update(noDataState="Firing")
    ),
    "grafana_uids_fit_grafanas_limits": lambda s: _first(
        s, "grafana:oss/folder:Folder"
    ).inputs.update(uid="platform folder"),
    "postgres_names_fit_identifiers": lambda s: _first(
        s, "postgresql:index/database:Database"
    ).inputs.update(template="template1"),
    "repository_files_are_relative_paths": lambda s: _first(
        s, "github:index/repositoryFile:RepositoryFile"
    ).inputs.update(file="/.github/workflows/ci.yml"),
    "managed_server_changes_never_wipe_the_host": lambda s: _first(s, SERVER).ignore_changes.remove(
        "userData"
    ),
    "primary_ips_outlive_their_server": lambda s: _first(s, PRIMARY_IP).inputs.update(
        autoDelete=True
    ),
    "firewall_rules_read_back_unchanged": lambda s: (
        _first(s, FIREWALL).inputs["rules"][2].update(sourceIps=["2001:DB8:42:0::/48"])
    ),
    "hcloud_ids_are_numbers_and_names_are_host_names": lambda s: _first(s, SERVER).inputs.update(
        name="investment_prod"
    ),
}
PLANTED_IN = {
    name: "managed"
    for name in (
        "managed_server_changes_never_wipe_the_host",
        "primary_ips_outlive_their_server",
        "firewall_rules_read_back_unchanged",
        "hcloud_ids_are_numbers_and_names_are_host_names",
    )
}
"""The stack whose copy a rule's defect is planted in (prod unless named here)."""


@pytest.mark.parametrize("stack_name", STACKS)
@pytest.mark.parametrize("name", sorted(RULES))
def test_the_program_keeps_the_provider_rule(stacks, stack_name, name):
    assert RULES[name](stacks[stack_name]) == []


@pytest.mark.parametrize("name", sorted(RULES))
def test_the_rule_catches_its_planted_defect(stacks, name):
    broken = copy.deepcopy(stacks[PLANTED_IN.get(name, "prod")])
    PLANTS[name](broken)
    assert RULES[name](broken) != []


def test_every_rule_has_a_planted_defect_and_a_citation():
    assert set(PLANTS) == set(RULES)
    for name in RULES:
        doc = globals()[name].__doc__ or ""
        assert re.search(
            r"\b(KD|KS|MA|MU|MC|MO|MN|GR|GP|HS|HP|HF|moby|Docker|PostgreSQL|pulumi-github|Grafana)\b",
            doc,
        ), name


def test_the_full_stack_switches_every_optional_feature_on(stacks):
    full = stacks["full"]
    names = {r.name for r in full.resources}
    assert "investment-docker" in names
    provider = _first(full, "pulumi:providers:docker")
    assert "ghcr.io" in str(provider.inputs.get("registryAuth"))
    writer = _first(full, CONTAINER, lambda r: r.inputs["name"] == "investment-nginx-config-writer")
    assert {u["file"] for u in writer.inputs["uploads"]} >= {
        "/staging/tls/tls.crt",
        "/staging/tls/tls.key",
    }
    volumes = {v.inputs["name"] for v in full.of_type(VOLUME)}
    assert {"investment_db_data", "investment_redis"} <= volumes
    backup = _service(full, "backup")
    assert any(v.get("hostPath") == "/mnt/storagebox" for v in backup.inputs["volumes"])
    contact = _first(full, "grafana:alerting/contactPoint:ContactPoint")
    assert contact.inputs["webhooks"] == [{"url": "https://hooks.example.com/services/T0K3N"}]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (5, "5s"),
        (30, "30s"),
        (60, "1m0s"),
        (90, "1m30s"),
        (300, "5m0s"),
        (3600, "1h0m0s"),
    ],
)
def test_health_check_durations_are_written_as_go_prints_them(seconds, text):
    from components.service import go_duration

    assert go_duration(seconds) == text == _go_duration_string(seconds)


@pytest.mark.parametrize(
    ("cpus", "text"),
    [
        (0.1, "0.1"),
        (0.25, "0.25"),
        (0.5, "0.5"),
        (0.75, "0.75"),
        (1, "1.0"),
        (1.5, "1.5"),
        (0.05, "0.1"),
        (0.04, "0.0"),
        (0.055, "0.055"),
        (0.15, "0.15"),
    ],
)
def test_cpus_are_written_as_the_provider_reads_them_back(cpus, text):
    from model.catalogue import docker_cpus

    assert docker_cpus(cpus) == text == _nano_to_decimal_string(round(cpus * 1e9))


def test_a_cpu_limit_docker_would_round_is_refused_with_its_key():
    from model.config import ConfigError, load_config

    raw = {
        "hostPlan": "local",
        "images": '{"backend": "ghcr.io/a/b:1.0.0", "frontend": "ghcr.io/a/f:1.0.0"}',
        "services": '{"redis": {"cpus": 0.05}}',
    }
    with pytest.raises(ConfigError) as excinfo:
        load_config("dev", raw)
    assert str(excinfo.value) == (
        "Pulumi.dev.yaml: investment-platform:services.redis.cpus: 0.05 CPUs would read back "
        "from Docker as 0.1 and replace the container on every `pulumi up`; use a multiple of "
        "0.1, or two decimals from 0.11 up"
    )
