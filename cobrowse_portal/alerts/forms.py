from __future__ import annotations

from django import forms

from .models import AlertSettings


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = [
            "failed_runs",
            "stale_factor",
            "rate_budget_minutes",
            "webhook_miss_percent",
            "webhook_miss_runs",
            "webhook_miss_min_sample",
            "reminder_hours",
            "notify_on_resolve",
            "recipients",
        ]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 2})}

    def clean_recipients(self) -> str:
        from cobrowse_portal.core.recipients import split_recipients

        # Stored normalised: "a@x.test, b@x.test".
        return ", ".join(split_recipients(self.cleaned_data["recipients"]))
