"""The admin site: the team's workbench, where reviewers review and administrators
keep the reference data."""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView

from tracker.models import works_on_cases


class AutocompleteView(AutocompleteJsonView):
    # Django's view checks who asks in get(): OPTIONS, answered by View before any
    # handler, would say 200 to anyone signed in to the admin.
    http_method_names = ["get", "head"]


class TeamAdminSite(admin.AdminSite):
    site_header = "Sanctions-violation evidence tracker"
    site_title = "Evidence tracker"
    index_title = "Cases, evidence and review"
    # The pages need their width for wide lists (the case list's columns beside its
    # filters); the breadcrumbs and the home page lead everywhere the sidebar did.
    enable_nav_sidebar = False

    def has_permission(self, request):
        # Only those who log or check cases. Its pages show who acted and what the team
        # wrote (the review panel, versions, who added evidence), which a stakeholder
        # never sees: given staff status by mistake, one still gets none of it.
        return super().has_permission(request) and works_on_cases(request.user)

    def autocomplete_view(self, request):
        return AutocompleteView.as_view(admin_site=self)(request)
