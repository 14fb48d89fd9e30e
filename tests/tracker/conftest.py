import pytest

from evidence.models import Stance
from tests import factories


@pytest.fixture
def add_item(db):
    """Put an evidence item from the named source on a case."""

    def add(case, source_name, stance=Stance.SUPPORTS, **fields):
        source = factories.SourceFactory(name=source_name)
        return factories.EvidenceItemFactory(case=case, source=source, stance=stance, **fields)

    return add
