"""Reseller provisioning: one flow creates a client at every vendor, removes one,
or offboards a person everywhere, as a run of per-vendor steps in Celery."""
