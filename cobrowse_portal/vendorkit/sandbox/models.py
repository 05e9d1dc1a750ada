"""Fault injection settings, one row per sandbox account (vendor + API key)."""

from __future__ import annotations

from django.db import models


class FaultProfile(models.Model):
    """Per-sandbox-account faults. Rates are fractions of requests (0..1)."""

    vendor = models.CharField(max_length=32)
    account_key = models.CharField(max_length=200)
    rate_429 = models.FloatField(default=0)
    rate_500 = models.FloatField(default=0)
    rate_timeout = models.FloatField(default=0)
    rate_malformed = models.FloatField(default=0)
    delay_ms = models.PositiveIntegerField(default=0)
    retry_after_seconds = models.PositiveIntegerField(default=1)
    timeout_seconds = models.FloatField(default=25.0)
    seed = models.IntegerField(null=True, blank=True)
    #: Webhook delivery: drop every Nth delivery of this account's webhooks
    #: (0: none); deliveries are numbered from 1 in `webhook_deliveries`, so
    #: the dropped ones are known (N, 2N, ...). A reset profile counts anew.
    webhook_drop_every = models.PositiveIntegerField(default=0)
    webhook_deliveries = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "account_key"], name="sandbox_fault_vendor_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor} faults for …{self.account_key[-4:]}"

    @property
    def total_rate(self) -> float:
        return self.rate_429 + self.rate_500 + self.rate_timeout + self.rate_malformed
