"""Django admin changelists that stay usable at a million rows.

The stock changelist counts every matching row (COUNT(*) on each page, even with
`show_full_result_count=False`), pages with OFFSET to any depth, offers a date
hierarchy that aggregates over every row and searches with UPPER(...) LIKE on
several columns. `BigTableAdmin` keeps the filters and changes the rest:

- the paginator counts at most `count_cap` rows (a COUNT over a LIMIT subquery),
  so a page costs the same at 10,000 rows as at 10,000,000; the page shows "more
  than …" and pages reach as deep as the cap (narrow further with the filters);
- rows come newest first on the primary key (an index every table has);
- `exact_search_fields` match the search term exactly, on the model's
  (account, field) indexes: `account_id IN (…)` lets every database use an index
  that starts with the account;
- `list_defer` columns (vendor payload JSON) are not read for the list.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils.functional import cached_property


class BoundedCountPaginator(Paginator):
    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: self.count_cap + 1].count()
        self.capped = counted > self.count_cap
        return min(counted, self.count_cap)

    capped = False


class BigTableAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    ordering = ["-pk"]
    sortable_by: list[str] = []  # a click-sort on an unindexed column sorts all rows
    exact_search_fields: list[str] = []
    list_defer: list[str] = []
    date_hierarchy = None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.defer(*self.list_defer) if self.list_defer else qs

    def get_search_fields(self, request):
        # Non-empty so the changelist shows its search box; the search itself is
        # get_search_results below.
        return self.exact_search_fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term or not self.exact_search_fields:
            return queryset, False
        from cobrowse_portal.core.models import VendorAccount

        accounts = list(VendorAccount.objects.values_list("pk", flat=True))
        match = Q()
        for field in self.exact_search_fields:
            match |= Q(**{field: term})
        return queryset.filter(match, account_id__in=accounts), False
