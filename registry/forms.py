"""Admin form for a use case: list fields as checkboxes or one-per-line text instead of raw JSON."""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import FIELDS

ENUM_LIST_FIELDS = {
    "outputs": v.Output,
    "regulatory_processes": v.RegulatoryProcess,
    "techniques": v.Technique,
}
TEXT_LIST_FIELDS = ("tags", "data_sources")


class LinesField(forms.CharField):
    """A list of short texts, one per line (commas also separate)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


def https_by_default(db_field, **kwargs):
    """A URL typed without a scheme is taken as https (Django 6's default, chosen now)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class UseCaseAdminForm(forms.ModelForm):
    class Meta:
        model = UseCase
        fields = list(FIELDS)
        formfield_callback = https_by_default

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, choices in ENUM_LIST_FIELDS.items():
            if name in self.fields:
                self.fields[name] = forms.MultipleChoiceField(
                    label=self.fields[name].label,
                    choices=choices.choices,
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                )
        for name in TEXT_LIST_FIELDS:
            if name in self.fields:
                self.fields[name] = LinesField(
                    label=self.fields[name].label,
                    required=False,
                    help_text=_("One per line."),
                )
