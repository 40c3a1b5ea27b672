"""The files generated into each service's config volume, as the catalogue declares them.

`generated_files` turns a service's `files` (assets shipped as they are, templates filled from the
stack's values, the named renderers below, secrets) into paths and contents. Only secrets stay
references (`SecretRef`): their values exist as Pulumi secrets, which the Service component puts in
their place. `template_context` is the set of stack values the catalogue's env templates and the
file templates may name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from model.catalogue import AssetFile, RenderedFiles, SecretFile, ServiceSpec, TemplateFile
from model.config import StackConfig
from model.stackcost import stack_cost
from model.topology import host_path_settings, public_url
from render.nginx import certificate_paths, stack_nginx_conf
from render.prometheus import prometheus_files

ASSETS = Path(__file__).resolve().parent.parent / "assets"
"""Files shipped into containers (scripts, static config, templates)."""


@dataclass(frozen=True)
class SecretRef:
    """The content of a file is the secret with this config key."""

    key: str


@dataclass(frozen=True)
class GeneratedOutput:
    """One file for a service: where it goes inside the container, its content and its mode."""

    path: str
    content: str | SecretRef
    mode: str


Renderer = Callable[[StackConfig, Sequence[ServiceSpec]], dict[str, str]]


def _nginx(config: StackConfig, specs: Sequence[ServiceSpec]) -> dict[str, str]:
    return {"nginx.conf": stack_nginx_conf(config, specs)}


def _prometheus(config: StackConfig, specs: Sequence[ServiceSpec]) -> dict[str, str]:
    return prometheus_files(specs, stack_cost(config, specs), config.alerting, stack=config.stack)


RENDERERS: dict[str, Renderer] = {"nginx": _nginx, "prometheus": _prometheus}
"""The renderers a catalogue entry may name, each giving paths (relative to its config_dir) to
contents."""


def offsite_repository(config: StackConfig) -> str:
    """restic's repository URL for the off-site copy ("" without one): s3:ENDPOINT/BUCKET/PREFIX."""
    offsite = config.backup.offsite
    if offsite is None:
        return ""
    return f"s3:{offsite.endpoint.rstrip('/')}/{offsite.bucket}/{offsite.prefix}"


def template_context(config: StackConfig, specs: Sequence[ServiceSpec]) -> dict[str, str]:
    """Stack values the catalogue's plain env (`{name}`) and file templates (`$name`) may use."""
    # Where each host directory the stack names is mounted inside its service.
    settings = host_path_settings(config)
    mounted = {m.setting: m.path for s in specs for m in s.config_mounts if settings[m.setting]}
    return {
        "public_url": public_url(config),
        "domain": config.domain,
        "letsencrypt_email": config.tls.email or "",
        "tls_cert_file": certificate_paths(config.tls.mode, config.domain)[0]
        if config.tls.mode != "none"
        else "",
        "backup_schedule": config.backup.schedule,
        "backup_keep_daily": str(config.backup.keep_daily),
        "backup_keep_weekly": str(config.backup.keep_weekly),
        "backup_offhost_dir": mounted.get("backup.offhostDir", ""),
        "backup_keep_base": str(config.backup.keep_base),
        "offsite_repository": offsite_repository(config),
        "offsite_interval_seconds": str(
            config.backup.offsite.interval_minutes * 60 if config.backup.offsite else 300
        ),
        "offsite_keep_days": str(config.backup.offsite.keep_days if config.backup.offsite else 14),
        "smtp_enabled": str(config.alerting.smtp_host is not None).lower(),
        "smtp_host": config.alerting.smtp_host or "",
        "smtp_user": config.alerting.smtp_user or "",
        "smtp_from": config.alerting.smtp_from or "",
    }


class GeneratedFileError(ValueError):
    """A declared file cannot be generated (missing asset, unknown renderer or placeholder)."""


def _read(assets: Path, name: str, service: str) -> str:
    path = assets / name
    if not path.is_file():
        raise GeneratedFileError(f"{service}: asset {name} is not in {assets}")
    return path.read_text()


def generated_files(
    spec: ServiceSpec,
    config: StackConfig,
    specs: Sequence[ServiceSpec],
    *,
    assets: Path = ASSETS,
    context: Mapping[str, str] | None = None,
) -> list[GeneratedOutput]:
    """The service's files for this stack, with absolute paths inside its config_dir."""
    if not spec.files:
        return []
    base = (spec.config_dir or "").rstrip("/")
    values = dict(context if context is not None else template_context(config, specs))
    out: list[GeneratedOutput] = []
    for declared in spec.files:
        if isinstance(declared, AssetFile):
            text = _read(assets, declared.asset, spec.name)
            out.append(GeneratedOutput(f"{base}/{declared.path}", text, declared.mode))
        elif isinstance(declared, TemplateFile):
            template = Template(_read(assets, declared.template, spec.name))
            try:
                text = template.substitute(values)
            except KeyError as exc:
                raise GeneratedFileError(
                    f"{spec.name}: template {declared.template} names no stack value {exc} "
                    f"(known: {', '.join(sorted(values))}; write $$ for a literal $)"
                ) from None
            except ValueError as exc:
                # string.Template's message: "Invalid placeholder in string: line 3, col 7".
                raise GeneratedFileError(
                    f"{spec.name}: template {declared.template}: {exc} (placeholders are $name "
                    "or ${name}; write $$ for a literal $)"
                ) from None
            out.append(GeneratedOutput(f"{base}/{declared.path}", text, declared.mode))
        elif isinstance(declared, RenderedFiles):
            renderer = RENDERERS.get(declared.renderer)
            if renderer is None:
                raise GeneratedFileError(
                    f"{spec.name}: no renderer named {declared.renderer!r} "
                    f"(renderers: {', '.join(sorted(RENDERERS))})"
                )
            out += [
                GeneratedOutput(f"{base}/{path}", text, "0644")
                for path, text in renderer(config, specs).items()
            ]
        elif isinstance(declared, SecretFile) and declared.when_tls == config.tls.mode:
            out.append(
                GeneratedOutput(
                    f"{base}/{declared.path}", SecretRef(declared.secret), declared.mode
                )
            )
    return out
