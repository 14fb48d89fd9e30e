"""The roles of docs/domain.md as Django groups, and the permissions each one holds.

Superusers are the administrators. A data migration calls ``sync_roles`` whenever a
role gains or loses a permission, so a deployment's groups always match this table.
Permissions of models that an earlier migration does not know yet are passed over
there; the migration that adds the model syncs the roles again.
"""

MONITOR = "Monitor"
REVIEWER = "Reviewer"
STAKEHOLDER = "Stakeholder"

REFERENCE_DATA = ["tracker.view_weaponsystem", "tracker.view_sanctionsprovision"]
READ_EVIDENCE = [
    "evidence.view_evidenceitem",
    "evidence.view_source",
    "evidence.view_custodyevent",
    "evidence.view_storedfile",
]

ROLE_PERMISSIONS = {
    MONITOR: [
        "tracker.add_case",
        "tracker.change_case",
        "tracker.view_case",
        *REFERENCE_DATA,
        "evidence.add_evidenceitem",
        "evidence.change_evidenceitem",
        # Proposing only: a new source stays ungraded until a reviewer grades it, and
        # without change_source a monitor changes no existing source.
        "evidence.add_source",
        *READ_EVIDENCE,
    ],
    # Reviewers grade sources: reliability is a judgement made at review.
    REVIEWER: [
        "tracker.view_case",
        "tracker.review_case",
        *REFERENCE_DATA,
        "evidence.change_source",
        "evidence.grade_source",
        *READ_EVIDENCE,
    ],
    STAKEHOLDER: ["tracker.view_case", "evidence.view_evidenceitem", "evidence.view_source"],
}


def sync_roles(apps, schema_editor=None):
    """Make each role group hold exactly the permissions listed above."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [name.split(".") for name in names]
        permissions = Permission.objects.none()
        for app_label, codename in wanted:
            permissions |= Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(permissions)
