from django.contrib import admin, messages
from django.template.response import TemplateResponse

from .forms import AdminTokenForm
from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Administrators issue tokens for users and revoke them; a token is shown once,
    when it is made, and only its prefix afterwards. Revoked tokens stay on record."""

    list_display = ON_RECORD = [
        "name",
        "user",
        "display",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AdminTokenForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "scope", "expires_at"]
        return self.ON_RECORD

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A token's owner and powers are fixed when it is made; revoke it and make
        # another. Only its name may change.
        return [field for field in self.ON_RECORD if field != "name"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            request.issued_api_token = obj.generate()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return TemplateResponse(
            request,
            "admin/api/apitoken/issued.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": obj,
                "secret": request.issued_api_token,
                "title": f"API token for {obj.user}",
            },
            headers={"Cache-Control": "no-store"},
        )

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
            revoked += 1
        self.message_user(request, f"{revoked} API token(s) revoked.", messages.SUCCESS)
