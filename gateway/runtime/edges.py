"""The stores and transports a gateway reaches outside its process, built from Settings:
shared by `serve` (gateway/runtime/app.py) and the commands that work on them alone."""

from __future__ import annotations

import os

from gateway.config.settings import Settings
from outbound.relay import PickupFolder, SmtpRelay, Transport
from storage.blobs import BlobStore


def make_blobs(settings: Settings) -> BlobStore:
    """The raw mail and attachment store under `data_dir` (shared by every instance)."""
    return BlobStore(settings.data_dir / "blobs")


def make_transport(settings: Settings) -> Transport:
    if settings.relay_pickup_dir is not None:
        return PickupFolder(settings.relay_pickup_dir)
    relay = settings.file.relay
    password = os.environ.get(relay.password_env) if relay.password_env else None
    return SmtpRelay(
        host=relay.host,
        port=relay.port,
        starttls=relay.starttls,
        username=relay.username,
        password=password,
    )
