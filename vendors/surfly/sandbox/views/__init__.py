"""The sandbox's views, one module per tag of Surfly's REST API reference."""
