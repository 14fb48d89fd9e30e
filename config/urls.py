from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import SignInView

urlpatterns = [
    # The admin signs in through the site's two-step sign-in, not its own password-only
    # form (its URL name, admin:login, comes with admin.site.urls below).
    path("admin/login/", SignInView.as_view()),
    path("admin/", admin.site.urls),
    path("login/", SignInView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("", include("tracker.urls")),
    # The case list's exports, cases/export.csv and the like.
    path("", include("exchange.urls")),
    path("digests/", include("digests.urls")),
    path("evidence/", include("evidence.urls")),
    # A case's dossier (printable page, PDF) and evidence package; a list's dossier.
    path("dossiers/", include("dossiers.urls")),
    path("imports/", include("exchange.import_urls")),
    # The JSON API under /api/v1/, and each user's API tokens under /account/api-tokens/.
    path("", include("api.urls")),
]

handler500 = "common.views.server_error"
handler400 = "common.views.bad_request"
