from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Sanctions-violation evidence tracker"
admin.site.site_title = "Evidence tracker"
admin.site.index_title = "Cases, evidence and review"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tracker.urls")),
]
