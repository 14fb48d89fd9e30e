"""Lookups of the project's own, registered by ``tracker.apps``."""

from django.db.models import IntegerField, lookups


class IntegerIn(lookups.In):
    """Django's ``in`` on an integer column, without the values the column cannot hold.

    They match no row, as Django's own ``exact`` already concludes for such a value,
    but SQLite cannot even be asked about them (an OverflowError, a server error), and
    forms and widgets pass on whatever keys a user sent: ``weapon_systems=2**63``
    reaches ``WeaponSystem.objects.filter(pk__in=…)`` in the case form's check and
    again when the admin's form is shown with its error.
    """

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
