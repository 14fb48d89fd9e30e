from django.contrib.admin.apps import AdminConfig


class TeamAdminConfig(AdminConfig):
    """django.contrib.admin with the site of config/admin_site.py."""

    default_site = "config.admin_site.TeamAdminSite"
