from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class IssueTokenForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200, required=False,
                                  help_text=_("For example: Okta production."))
    expires_at = forms.DateTimeField(label=_("Expires"), required=False,
                                     help_text=_("Leave empty for a token that does not expire."))
