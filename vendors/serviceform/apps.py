"""Serviceform's app. A minimal config for the local models; the VendorSpec
(client, streams, sandbox, control-room sources) is declared with the client."""

from __future__ import annotations

from django.apps import AppConfig


class ServiceformConfig(AppConfig):
    name = "vendors.serviceform"
    label = "serviceform"
    verbose_name = "Serviceform"
