"""Every public method of every vendor client is called by the product.

A client method is one documented vendor operation; one nothing calls is an
operation the portal claims to support but does not offer. This is a static
check (`ast`) over the non-test code of `vendors/` and `cobrowse_portal/`, for
every `BaseVendorClient` subclass a vendor app defines, so a vendor built later
gets the same check without writing one.

A call counts when it is an attribute access `<something>.<method>` where the
something is not a module or class the file imported (`services.get_client`
is the service of the same name, not the client method). A vendor's sandbox
(the fake vendor) and migrations are not the product, so they do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cobrowse_portal.vendorkit.client import BaseVendorClient

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("vendors", "cobrowse_portal")
NOT_PRODUCT = {"sandbox", "migrations", "tests"}
BASE = BaseVendorClient.__name__
# Hooks the base class calls (authenticate, parse_error, …) are defined there.
BASE_METHODS = {n for n in dir(BaseVendorClient) if not n.startswith("_")}


def _product_files() -> list[Path]:
    files = []
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            if NOT_PRODUCT.isdisjoint(path.relative_to(REPO).parts):
                files.append(path)
    return files


FILES = {path: ast.parse(path.read_text(), str(path)) for path in _product_files()}


def _client_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for path, tree in FILES.items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == BASE)
                or (isinstance(b, ast.Attribute) and b.attr == BASE)
                for b in node.bases
            ):
                found.append((str(path.relative_to(REPO)), node))
    return found


CLIENTS = _client_classes()


def public_methods(cls: ast.ClassDef) -> list[ast.FunctionDef]:
    return [
        n
        for n in cls.body
        if isinstance(n, ast.FunctionDef)
        and not n.name.startswith("_")
        and n.name not in BASE_METHODS
        and not any(
            isinstance(d, ast.Name) and d.id in {"property", "staticmethod"}
            for d in n.decorator_list
        )
    ]


def _imported_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def calls_of(name: str, skip: ast.FunctionDef | None = None) -> list[str]:
    """Where product code reaches `<instance>.name` (file:line)."""
    where = []
    for path, tree in FILES.items():
        imported = _imported_names(tree)
        inside = set(map(id, ast.walk(skip))) if skip is not None else set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == name
                and id(node) not in inside
                and not (isinstance(node.value, ast.Name) and node.value.id in imported)
            ):
                where.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return where


def test_every_vendor_has_a_client_to_check():
    vendors = {p.split("/")[1] for p, _ in CLIENTS if p.startswith("vendors/")}
    assert "surfly" in vendors, CLIENTS


@pytest.mark.parametrize(
    ("module", "cls"), CLIENTS, ids=[f"{m}:{c.name}" for m, c in CLIENTS]
)
def test_every_public_client_method_is_called_by_the_product(module, cls):
    unused = [m.name for m in public_methods(cls) if not calls_of(m.name, skip=m)]
    assert not unused, (
        f"{cls.name} ({module}): nothing in the product calls {', '.join(unused)}. "
        "Give each operation a real use (a view, a service, a sync) or drop it."
    )


def test_the_check_sees_through_modules_of_the_same_name():
    """`services.x(...)` and `views.x` are not calls of the client's `x`."""
    tree = ast.parse(
        "from . import services\nimport agents\n"
        "services.get_client(a)\nagents.get_client\nclient_for(a).get_webhook(1)\n"
    )
    imported = _imported_names(tree)
    attrs = [
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and not (isinstance(n.value, ast.Name) and n.value.id in imported)
    ]
    assert attrs == ["get_webhook"]
