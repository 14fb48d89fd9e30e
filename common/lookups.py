"""Lookups of the project's own, registered by ``tracker.apps``."""

from django.db.models import IntegerField, lookups


class IntegerIn(lookups.In):
    """Django's ``in`` on an integer column, without the values the column cannot hold
    (not whole numbers, or beyond its range): no row has them as its key, so they match
    none, where Django's own ``in`` fails.

    Forms and widgets pass on whatever keys a user sent. ``weapon_systems=2**63``
    reaches ``WeaponSystem.objects.filter(pk__in=…)`` in the case form's check, and
    SQLite cannot even be asked about it (OverflowError); the admin's autocomplete
    widget, showing a form again with its errors, looks up every value sent, ``:``
    included (ValueError). Either was a server error.
    """

    def get_prep_lookup(self):
        if self.rhs_is_direct_value():
            self.rhs = [value for value in self.rhs if self._may_be_held(value)]
        return super().get_prep_lookup()

    def _may_be_held(self, value):
        if value is None or hasattr(value, "resolve_expression"):
            return True  # Django's own business: NULL is left out, expressions kept
        try:
            self.lhs.output_field.get_prep_value(value)
        except (TypeError, ValueError):
            return False
        return True

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            field_type = self.lhs.output_field.get_internal_type()
            low, high = connection.ops.integer_field_range(field_type)
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


def register():
    IntegerField.register_lookup(IntegerIn)
