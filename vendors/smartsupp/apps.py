"""Smartsupp's app. A minimal config for the local models; the VendorSpec
(client, streams, sandbox, control-room sources) is declared with the client."""

from __future__ import annotations

from django.apps import AppConfig


class SmartsuppConfig(AppConfig):
    name = "vendors.smartsupp"
    label = "smartsupp"
    verbose_name = "Smartsupp"
