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
        help_texts = {
            "title_en": _("Required when the language is not English."),
            "language": _("ISO 639-1 code of the record's language: en, de, fr, nl, ..."),
            "summary": _("Plain language, at most 350 characters."),
            "operational_since": _("Required when the stage is production."),
            "retired_on": _("Required when the stage is retired."),
            "ai_act_justification": _(
                "Why this risk class. Required for high risk, and for a use in a high-risk area "
                "that is claimed not to be high risk."
            ),
            "human_oversight": _("Required when the AI Act risk class is high."),
            "dpia_status": _("Required unless the use case processes no personal data."),
            "contact_email": _("A functional mailbox, not a person's address."),
            "related": _(
                'A JSON list, e.g. [{"origin": "DE-BFARM", "uid": "...", "kind": "same_product"}]; '
                "kinds: duplicate_of, derived_from, same_product, supersedes."
            ),
            "publication_level": _(
                "Draft and internal stay at this agency; network is shared with the network's "
                "agencies; public also appears in the public catalogue. A prohibited use case "
                "is never published beyond internal."
            ),
        }

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
