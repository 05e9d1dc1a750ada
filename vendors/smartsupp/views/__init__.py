"""Smartsupp pages. They read the local database only; the explicit POST
actions (writes, "Reload from Smartsupp") call Smartsupp through `services.py`."""
