class ReadOnly:
    """Admin for records that are written by the application and never edited or
    deleted by hand: review steps, evidence items outside their case, custody."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
