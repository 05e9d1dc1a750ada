"""Upscope pages. They read the local database only; the explicit POST actions
(a live search, a watch link, stop, refresh, delete, agent lookup, an
on-premise token) call Upscope through `services.py`."""
