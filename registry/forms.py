"""Admin form for a use case: list fields as checkboxes or one-per-line text instead of raw JSON,
ISO dates with the browser's date picker, and no default that publishing would refuse."""

import re

from django import forms
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry import services
from registry import vocabularies as v
from registry.models import UseCase
from registry.validation import FIELDS

ENUM_LIST_FIELDS = {
    "outputs": v.Output,
    "regulatory_processes": v.RegulatoryProcess,
    "techniques": v.Technique,
}
TEXT_LIST_FIELDS = ("tags", "data_sources")
DATE_FIELDS = ("started_on", "operational_since", "retired_on", "next_review_on")
# Day and month in either order with / . or -: read differently across the network's countries.
AMBIGUOUS_DATE_RE = re.compile(r"\s*\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\s*")


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


class IsoDateField(forms.DateField):
    """YYYY-MM-DD only, through the browser's date picker; 01/03/2025 is refused, not guessed."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    input_formats = ["%Y-%m-%d"]

    def to_python(self, value):
        if isinstance(value, str) and AMBIGUOUS_DATE_RE.fullmatch(value):
            raise forms.ValidationError(
                _(
                    "%(value)s can be read as two different dates: enter it as YYYY-MM-DD "
                    "(for 1 March 2025, 2025-03-01), or pick it from the calendar."
                ),
                code="ambiguous",
                params={"value": value.strip()},
            )
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("Enter the date as YYYY-MM-DD, for example 2025-03-01."), code="invalid"
            ) from None


class NullBooleanRadio(forms.RadioSelect):
    """Yes / No / Not yet answered: a draft may leave it open, publishing needs an answer."""

    def __init__(self, attrs=None):
        choices = [("unknown", _("Not yet answered")), ("true", _("Yes")), ("false", _("No"))]
        super().__init__(attrs, choices)

    def format_value(self, value):
        return [
            {True: "true", False: "false", "true": "true", "false": "false"}.get(value, "unknown")
        ]

    def value_from_datadict(self, data, files, name):
        return {"true": True, "false": False}.get(data.get(name))


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
            "contact_email": _(
                "A functional mailbox (not a person's address) or the URL of a contact page. "
                "Left empty, the agency's mailbox is used."
            ),
            "affects_individuals": _(
                "Do its outputs bear on decisions about people, patients or products? "
                "Must be answered before publishing."
            ),
            "publication_level": _(
                "Draft and internal stay at this agency; network is shared with the network's "
                "agencies; public also appears in the public catalogue. A prohibited use case "
                "is never published beyond internal."
            ),
        }

    def clean_contact_email(self):
        # Like the URL fields (https_by_default): a contact page typed as www.… is taken as https.
        contact = (self.cleaned_data.get("contact_email") or "").strip()
        if contact[:4].lower() == "www.":
            contact = f"https://{contact}"
        return contact

    def clean(self):
        # The agency's mailbox stands in for a contact left empty (services.save_use_case does
        # the same), so publishing is not refused for a contact that will be there.
        cleaned = super().clean()
        if not cleaned.get("contact_email"):
            cleaned["contact_email"] = services.agency_mailbox(settings.NODE_AGENCY)
        return cleaned

    def _update_errors(self, errors):
        # The record's validator runs on every field; one the form refused already keeps the
        # form's message alone (one error per field).
        if hasattr(errors, "error_dict"):
            errors.error_dict = {
                name: messages
                for name, messages in errors.error_dict.items()
                if name not in self._errors
            }
        super()._update_errors(errors)

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
                    help_text=_("One per line (a comma also separates)."),
                )
        for name in DATE_FIELDS:
            if name in self.fields:
                self.fields[name] = IsoDateField(
                    label=self.fields[name].label,
                    required=False,
                    help_text=self.fields[name].help_text,
                )
        if "affects_individuals" in self.fields:
            field = self.fields["affects_individuals"]
            self.fields["affects_individuals"] = forms.NullBooleanField(
                label=field.label,
                help_text=field.help_text,
                widget=NullBooleanRadio,
                required=False,
            )
        if "related" in self.fields:
            # Picked by searching the node's view (registry.admin_related); the admin passes the
            # user it searches for (RelatedUseCasesAdminMixin.get_form).
            from registry.admin_related import RelatedUseCasesField

            self.fields["related"] = RelatedUseCasesField(
                label=self.fields["related"].label,
                user=getattr(self, "request_user", None),
                instance=self.instance,
            )
