"""What every vendor's write pages share.

A form that shows a `VendorError` in the vendor's words, the statuses a re-rendered
form answers with, and `submit()`, the one flow of a write form: validate → call the
vendor → show its refusal on the form, or succeed. Messages name the vendor by its
registry label (`account.spec.label`), never by a literal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from cobrowse_portal.vendorkit.errors import VendorError

#: Status of a re-rendered form: refused input, or the vendor unreachable (the
#: input is kept so the user can submit again).
INVALID, UNAVAILABLE = 422, 503

T = TypeVar("T")

RETRY_BUTTON = "{vendor} is not answering right now; press the button again to retry."


class VendorFormMixin:
    """Maps a vendor's field errors onto form fields; put it before `forms.Form`.

    `vendor_label` names the vendor in messages: pass it to the constructor
    (`vendor_label=account.spec.label`).
    """

    #: Vendor field name → form field name, where they differ.
    vendor_fields: dict[str, str] = {}
    vendor_label: str = "The vendor"

    def __init__(self, *args, vendor_label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if vendor_label:
            self.vendor_label = vendor_label

    def add_vendor_error(self, exc: VendorError) -> None:
        """Show `exc` on the form: next to the fields the vendor named, else on
        top; a transient error only says to submit again (the input is kept)."""
        label = self.vendor_label
        if exc.transient:
            self.add_error(
                None,
                f"{label} is not answering right now; your input is kept — "
                "submit again to retry.",
            )
            return
        unmatched = []
        for key, texts in (exc.field_errors or {}).items():
            name = self.vendor_fields.get(key, key)
            if name in self.fields and name not in self.errors:
                for text in texts:
                    self.add_error(name, text)
            else:
                unmatched.append(f"{key}: {' '.join(texts)}")
        if unmatched:
            self.add_error(None, f"{label} refused: " + "; ".join(unmatched))
        elif not exc.field_errors:
            self.add_error(None, f"{label} refused: {exc.user_message()}")
        else:
            self.add_error(None, f"{label} did not accept this; see the marked fields.")


def form_status(exc: VendorError | None = None) -> int:
    """The status of a form re-rendered after refused input or `exc`."""
    return UNAVAILABLE if exc is not None and exc.transient else INVALID


def submit(
    request,
    form,
    action: Callable[[dict[str, Any]], T],
    on_success: Callable[[T], HttpResponse],
    *,
    keep: Callable[[dict[str, Any]], HttpResponse] | None = None,
) -> tuple[HttpResponse | None, int]:
    """Run a write form: `(response, status)`.

    Not a POST: `(None, 200)`. Invalid input: `(None, 422)`, the form holds the
    errors and the vendor is not called. Otherwise `action(form.cleaned_data)`
    calls the vendor; a `VendorError` goes onto the form (`add_vendor_error`) with
    503 if it is transient (input kept) or 422 if the vendor refused. On success,
    `on_success(result)` gives the response, typically `success(...)`. When the
    response is None, render the form page with `status`.

    `keep(cleaned_data)`, for idempotent writes, is called instead when the vendor
    is unreachable: it keeps the write for a background retry (`defer_write`) and
    answers, so the user moves on and nothing is lost.
    """
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, form_status()
    try:
        result = action(form.cleaned_data)
    except VendorError as exc:
        kept = keep(form.cleaned_data) if exc.transient and keep else None
        if kept is not None:
            return kept, 200
        form.add_vendor_error(exc)
        return None, form_status(exc)
    return on_success(result), 200


def defer_write(
    request,
    account,
    func,
    *,
    description: str,
    target=None,
    kwargs: dict | None = None,
    then: HttpResponse | None = None,
    reason: VendorError | None = None,
    announce: bool = True,
) -> HttpResponse | None:
    """Keep an idempotent write the vendor could not take now, say so (unless not
    `announce`), and answer `then` (typically the redirect a success would have
    made). `reason` is why it was not sent: the vendor failing, or earlier
    changes to the same object still waiting (`QueuedBehind`)."""
    from .writes import QueuedBehind, defer

    defer(
        account,
        func,
        description=description,
        target=target,
        kwargs=kwargs,
        user=request.user,
    )
    if announce:
        label = account.spec.label
        if isinstance(reason, QueuedBehind):
            text = (
                f"Earlier changes to this are still waiting for {label}, so "
                f"“{description}” is saved and will be sent after them; follow it "
                "on the account page."
            )
        else:
            text = (
                f"{label} is not answering right now. “{description}” is saved "
                "and will be retried automatically; follow it on the account page."
            )
        messages.warning(request, text)
    return then


def success(request, text: str, to: str, *args, **kwargs) -> HttpResponse:
    """Say `text` as a success message and redirect to `to` (a URL name or URL)."""
    messages.success(request, text)
    return redirect(to, *args, **kwargs)


def failure_text(
    exc: VendorError, vendor_label: str, transient: str = RETRY_BUTTON
) -> str:
    """What to show for a failed action: `transient` (with `{vendor}`) when
    retrying can help, else the vendor's refusal in its own words."""
    if exc.transient:
        return transient.format(vendor=vendor_label)
    return f"{vendor_label} refused: {exc.user_message()}"


def report_failure(request, exc: VendorError, action: str, vendor_label: str) -> None:
    """A failed one-click action (no form to keep): say so as an error message;
    `action` is the past participle of what did not happen ("deleted")."""
    if exc.transient:
        text = (
            f"{vendor_label} is not answering right now, so nothing was {action}; "
            "try again in a moment."
        )
    else:
        text = failure_text(exc, vendor_label)
    messages.error(request, text)


def back_to(request, default: str) -> HttpResponse:
    """Redirect to a same-site `next` value, else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@dataclass
class Write:
    """One vendor write, `func(account, [target], **kwargs)`, described for people.

    Views run it now; when the vendor is unreachable and `func` is `@retryable`
    (idempotent), the very same call is kept and replayed later (`core.writes`).
    Because a failure is kept anyway, a retryable write run for a person makes
    one quick try (no HTTP retries, short timeouts; background replays keep the
    normal retries), and it does not call the vendor at all while earlier kept
    changes to the same object are pending: it joins their queue instead
    (`QueuedBehind`), so it can never overtake them.
    """

    account: Any
    func: Callable[..., Any]
    description: str
    target: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Why the last `run()` failed (the keep message depends on it).
    failure: VendorError | None = field(default=None, init=False, repr=False)

    def run(self) -> Any:
        args = [] if self.target is None else [self.target]
        if not self.retryable:
            return self.func(self.account, *args, **self.kwargs)
        from cobrowse_portal.vendorkit.http import one_quick_try

        from .writes import ensure_not_behind

        try:
            ensure_not_behind(self.account, self.target)
            with one_quick_try():
                return self.func(self.account, *args, **self.kwargs)
        except VendorError as exc:
            self.failure = exc
            raise

    @property
    def retryable(self) -> bool:
        return getattr(self.func, "retryable", False)

    def keep(
        self, request, then: HttpResponse | None = None, *, announce: bool = True
    ) -> HttpResponse | None:
        """Keep it for a retry and answer `then`; None if it may not be replayed."""
        if not self.retryable:
            return None
        return defer_write(
            request,
            self.account,
            self.func,
            description=self.description,
            target=self.target,
            kwargs=self.kwargs,
            then=then,
            reason=self.failure,
            announce=announce,
        )


def submit_write(
    request,
    form,
    build: Callable[[dict[str, Any]], Write],
    on_success: Callable[[Any], HttpResponse],
    *,
    then: Callable[[], HttpResponse],
) -> tuple[HttpResponse | None, int]:
    """`submit()` for a form that makes one `Write`: when the vendor is down and
    the write may be replayed, it is kept and the user goes on to `then()`."""
    built: list[Write] = []

    def write(data: dict[str, Any]) -> Write:
        if not built:
            built.append(build(data))
        return built[0]

    return submit(
        request,
        form,
        lambda data: write(data).run(),
        on_success,
        keep=lambda data: write(data).keep(request, then()),
    )


def attempt(request, write: Write, failed: str) -> tuple[bool, Any]:
    """Run a one-click write: `(True, result)`, or `(False, None)` after telling
    the user — kept for a retry when the vendor is down and it may be replayed.
    `failed` is the past participle of what did not happen ("deleted")."""
    try:
        return True, write.run()
    except VendorError as exc:
        if exc.transient and write.retryable:
            write.keep(request)
        else:
            report_failure(request, exc, failed, write.account.spec.label)
        return False, None
