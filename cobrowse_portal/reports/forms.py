from __future__ import annotations

from django import forms

from . import sections
from .models import ReportDefinition


class DefinitionForm(forms.ModelForm):
    sections = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label="Sections"
    )
    hour = forms.TypedChoiceField(
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        initial=7,
        help_text="In the workspace's time zone.",
    )

    class Meta:
        model = ReportDefinition
        fields = [
            "name",
            "frequency",
            "hour",
            "weekday",
            "day_of_month",
            "recipients",
            "sections",
            "include_clients",
            "enabled",
        ]
        widgets = {"recipients": forms.TextInput()}

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.instance.workspace = workspace
        self.fields["sections"].choices = sections.choices()
        if not self.instance.pk:
            self.initial.setdefault("sections", [k for k, _ in sections.choices()])
        self.fields["hour"].help_text = f"In {workspace.time_zone}."
        if not workspace.is_reseller:
            del self.fields["include_clients"]
        else:
            self.fields["include_clients"].label = "Cover all client workspaces"

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = ReportDefinition.objects.filter(workspace=self.workspace, name=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("This workspace has a report of that name.")
        return name
