"""Host plan presets: what one VPS costs, with where the price comes from.

Prices are monthly, net of VAT, as published by each provider; EUR prices are converted with
`EUR_USD` (the rate and its date are stated, so a stale rate is visible). OpenCost's convention of
730 hours a month is used wherever hourly rates appear.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from model.base import Frozen

HOURS_PER_MONTH = 730
EUR_USD = 1.16
EUR_USD_SOURCE = "ECB euro reference rate, November 2025 (about 1.16 USD per EUR)"


HETZNER_CX_LOCATIONS = ("fsn1", "nbg1", "hel1")
"""Where Hetzner sells its cost-optimised CX sizes: Falkenstein, Nuremberg, Helsinki (EU only;
docs.hetzner.com/cloud/general/locations, read 2025-11)."""


class HostPlan(Frozen):
    """One VPS size at one provider."""

    name: str
    """Preset key used in stack config (`hostPlan`)."""
    provider: str
    """Who sells it."""
    size: str
    """The provider's own name for the size."""
    vcpus: int = Field(gt=0)
    """Virtual CPUs."""
    memory_mib: int = Field(gt=0)
    """Memory in MiB."""
    monthly_price: float = Field(ge=0)
    """Price per month in `currency`, net of VAT."""
    currency: Literal["USD", "EUR"]
    """Currency of `monthly_price`."""
    source: str
    """Where the price was read."""
    as_of: str
    """When the price was read (YYYY-MM)."""
    server_type: str | None = None
    """The provider API's name of the size, for plans the program can create itself (the managed
    host, `host.mode: hetzner`); None for plans it can only price."""
    locations: tuple[str, ...] = ()
    """Where the provider sells this size (its API's location names)."""

    @property
    def monthly_usd(self) -> float:
        """Monthly price in USD."""
        rate = EUR_USD if self.currency == "EUR" else 1.0
        return round(self.monthly_price * rate, 2)


HOST_PLANS: dict[str, HostPlan] = {
    plan.name: plan
    for plan in (
        HostPlan(
            name="local",
            provider="developer machine",
            size="local Docker",
            vcpus=4,
            memory_mib=8192,
            monthly_price=0.0,
            currency="USD",
            source="runs on hardware the developer already has",
            as_of="2026-11",
        ),
        HostPlan(
            name="hetzner-cx23",
            provider="Hetzner Cloud",
            size="CX23",
            server_type="cx23",
            locations=HETZNER_CX_LOCATIONS,
            vcpus=2,
            memory_mib=4096,
            monthly_price=3.99,
            currency="EUR",
            source="hetzner.com/cloud price list (shared vCPU, EU regions)",
            as_of="2025-11",
        ),
        HostPlan(
            name="hetzner-cx33",
            provider="Hetzner Cloud",
            size="CX33",
            server_type="cx33",
            locations=HETZNER_CX_LOCATIONS,
            vcpus=4,
            memory_mib=8192,
            monthly_price=6.49,
            currency="EUR",
            source="hetzner.com/cloud price list (shared vCPU, EU regions)",
            as_of="2025-11",
        ),
        HostPlan(
            name="digitalocean-s-2vcpu-4gb",
            provider="DigitalOcean",
            size="s-2vcpu-4gb",
            vcpus=2,
            memory_mib=4096,
            monthly_price=24.0,
            currency="USD",
            source="digitalocean.com/pricing/droplets (Basic, regular SSD)",
            as_of="2025-11",
        ),
        HostPlan(
            name="digitalocean-s-4vcpu-8gb",
            provider="DigitalOcean",
            size="s-4vcpu-8gb",
            vcpus=4,
            memory_mib=8192,
            monthly_price=48.0,
            currency="USD",
            source="digitalocean.com/pricing/droplets (Basic, regular SSD)",
            as_of="2025-11",
        ),
        HostPlan(
            name="linode-g6-standard-2",
            provider="Akamai Linode",
            size="Linode 4 GB (g6-standard-2)",
            vcpus=2,
            memory_mib=4096,
            monthly_price=24.0,
            currency="USD",
            source="linode.com/pricing (Shared CPU)",
            as_of="2025-11",
        ),
        HostPlan(
            name="linode-g6-standard-4",
            provider="Akamai Linode",
            size="Linode 8 GB (g6-standard-4)",
            vcpus=4,
            memory_mib=8192,
            monthly_price=48.0,
            currency="USD",
            source="linode.com/pricing (Shared CPU)",
            as_of="2025-11",
        ),
    )
}
