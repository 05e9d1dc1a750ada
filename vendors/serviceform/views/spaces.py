"""Flex spaces and their items: the spaces list, a space's items (columns from
its fields, filters, search, keyset pages), and the item form generated from
the space's field definitions (new, edit, refresh from Serviceform, delete).
Managers and up: the items are the account's business records."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    report_failure,
    submit,
    submit_write,
    success,
)
from cobrowse_portal.core.writes import intended, overlay
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import DeleteForm, ItemFilterForm, ItemForm, day_end, day_start
from ..models import ServiceformItem, ServiceformSpace
from .common import page, page_context, serviceform_account

#: Space fields shown as columns of the items list (the rest: on the item).
COLUMNS = 6
#: Field types too long for a column.
NO_COLUMN = ("textarea",)


def _spaces(account):
    return ServiceformSpace.objects.filter(account=account, removed_at__isnull=True)


def _items(account):
    return ServiceformItem.objects.filter(account=account, removed_at__isnull=True)


def _space_or_404(account, pk: int) -> ServiceformSpace:
    return get_object_or_404(_spaces(account), pk=pk)


def _item_or_404(account, pk: int) -> ServiceformItem:
    return get_object_or_404(_items(account).select_related("space"), pk=pk)


def cell(field, value) -> str:
    """A stored value as the list shows it."""
    if value is None or value == "" or value == []:
        return ""
    if field.type == "checkbox":
        return "Yes" if value is True else "No"
    labels = {o.value: o.label for o in field.options}
    if field.type == "multiselect" and isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if field.type == "select":
        return labels.get(str(value), str(value))
    if isinstance(value, list | dict):
        return "…"
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


@role_required(Role.MANAGER)
def space_list(request, account_id: int):
    account = serviceform_account(request, account_id)
    spaces = list(_spaces(account).defer("raw", "fingerprint"))
    # One grouped count over the (account, space, …) index: spaces hold
    # hand-kept records, not the big tables.
    counts = dict(
        _items(account)
        .order_by()
        .values_list("space")
        .annotate(n=Count("id"))
        .values_list("space", "n")
    )
    for space in spaces:
        space.item_count = counts.get(space.pk, 0)
        space.field_count = len(space.field_defs())
    return render_page(
        request,
        "serviceform/spaces.html",
        page_context(request, account, spaces=spaces),
    )


@role_required(Role.MANAGER)
def space_items(request, account_id: int, space_pk: int):
    account = serviceform_account(request, account_id)
    space = _space_or_404(account, space_pk)
    defs = space.field_defs()
    columns = [f for f in defs if f.type not in NO_COLUMN][:COLUMNS]
    form = ItemFilterForm(defs, request.GET or None)
    qs = _items(account).filter(space=space).defer(*ServiceformItem.LIST_DEFER)
    filtered = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        q = data["q"].strip()
        if q:
            # Unknown (vendor-apis.md §4.4): how values are shaped; the search
            # reads the primary field and the values' JSON text.
            qs = qs.filter(Q(primary_field__icontains=q) | Q(values__icontains=q))
        if data["updated_from"]:
            qs = qs.filter(updated__gte=day_start(data["updated_from"]))
        if data["updated_to"]:
            qs = qs.filter(updated__lt=day_end(data["updated_to"]))
        for field, value in form.choice_filters():
            key = f"values__{field.machine}"
            if field.type == "checkbox":
                qs = qs.filter(**{key: value == "yes"})
            elif field.type == "multiselect":
                # The list's JSON text holds each chosen value quoted.
                qs = qs.filter(**{f"{key}__icontains": f'"{value}"'})
            else:
                qs = qs.filter(**{key: value})
        filtered = any(v not in (None, "") for v in data.values())
    result = page(qs, request.GET, "updated")
    rows = overlay(account, result.rows)
    edit = url_pattern("serviceform:item_edit", "account_id", "pk")
    for row in rows:
        stored = row.values or {}
        row.cells = [cell(f, stored.get(f.machine)) for f in columns]
        row.edit_url = edit.format(account_id=account.pk, pk=row.pk)
    has_any = bool(rows) or (filtered and _items(account).filter(space=space).exists())
    return render_page(
        request,
        "serviceform/items.html",
        page_context(
            request,
            account,
            space=space,
            columns=columns,
            form=form,
            page=result,
            rows=rows,
            has_any=has_any or bool(rows),
        ),
        partial="results",
    )


def _back_to_items(account, space):
    return redirect("serviceform:space_items", account_id=account.pk, space_pk=space.pk)


@role_required(Role.MANAGER)
def item_new(request, account_id: int, space_pk: int):
    """A new item: Serviceform is asked first (not retryable: a replay would
    make a second item), so a refusal or an outage re-renders the form with
    the input kept."""
    account = serviceform_account(request, account_id)
    space = _space_or_404(account, space_pk)
    form = ItemForm(
        space.field_defs(),
        request.POST if request.method == "POST" else None,
        vendor_label=account.spec.label,
    )
    response, status = submit(
        request,
        form,
        lambda data: services.create_item(
            account,
            space,
            primary_field=data["primary_field"],
            values=form.vendor_values(keep_empty=False),
        ),
        lambda item: success(
            request,
            f"Item {item} created in Serviceform.",
            "serviceform:space_items",
            account_id=account.pk,
            space_pk=space.pk,
        ),
    )
    if response:
        return response
    return render_page(
        request,
        "serviceform/item_form.html",
        page_context(request, account, space=space, form=form, item=None),
        status=status,
    )


@role_required(Role.MANAGER)
def item_edit(request, account_id: int, pk: int):
    """Edit an item (PUT with every value it keeps). When Serviceform is away
    the change is kept and retried (the list shows it as waiting)."""
    account = serviceform_account(request, account_id)
    item = intended(account, _item_or_404(account, pk))
    space = item.space
    form = ItemForm(
        space.field_defs(),
        request.POST if request.method == "POST" else None,
        item=item,
        vendor_label=account.spec.label,
    )
    response, status = submit_write(
        request,
        form,
        lambda data: Write(
            account,
            services.update_item,
            f"Edit item {item} of {space}",
            item,
            {
                "primary_field": data["primary_field"],
                "values": form.vendor_values(keep_empty=True),
            },
        ),
        lambda row: success(
            request,
            f"Item {row} saved in Serviceform.",
            "serviceform:space_items",
            account_id=account.pk,
            space_pk=space.pk,
        ),
        then=lambda: _back_to_items(account, space),
    )
    if response:
        return response
    return render_page(
        request,
        "serviceform/item_form.html",
        page_context(request, account, space=space, form=form, item=item),
        status=status,
    )


@role_required(Role.MANAGER)
@require_POST
def item_refresh(request, account_id: int, pk: int):
    """Read the item again from Serviceform (GET) before editing it."""
    account = serviceform_account(request, account_id)
    item = _item_or_404(account, pk)
    try:
        item = services.refresh_item(account, item)
    except VendorError as exc:
        report_failure(request, exc, "refreshed", account.spec.label)
        if exc.status == 404:
            return _back_to_items(account, item.space)
    else:
        messages.success(request, f"{item} read again from {account.spec.label}.")
    return redirect("serviceform:item_edit", account_id=account.pk, pk=item.pk)


@role_required(Role.MANAGER)
def item_delete(request, account_id: int, pk: int):
    """Delete an item at Serviceform (a confirmation first). Managers, like the
    item's other writes; kept and retried when Serviceform is away."""
    account = serviceform_account(request, account_id)
    item = _item_or_404(account, pk)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        write = Write(
            account, services.delete_item, f"Delete item {item} of {item.space}", item
        )
        done, answer = attempt(request, write, "deleted")
        if done:
            messages.success(request, answer)
        if done or write.retryable and write.failure and write.failure.transient:
            return _back_to_items(account, item.space)
    return render_page(
        request,
        "serviceform/item_delete.html",
        page_context(request, account, space=item.space, item=item, form=form),
        status=422 if form.is_bound and not form.is_valid() else 200,
    )
