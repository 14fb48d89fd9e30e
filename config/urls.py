from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "Sanctions-violation evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Cases, evidence and review"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("tracker.urls")),
    path("evidence/", include("evidence.urls")),
]
