"""A self-service profile page: what the IdP owns is shown but cannot be edited."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.models import User
from scim_portal.federation import FederatedFieldsFormMixin


class ProfileForm(FederatedFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name"]


@login_required(login_url="/admin/login/")
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("profile")
    return render(request, "portal/profile.html", {"form": form})
