import pytest

from evidence.models import EvidenceItem, EvidenceKind, Reliability, Source, SourceKind, Stance


@pytest.fixture
def add_item():
    """Put an evidence item on a case, straight into the database."""

    def add(case, source_name, stance=Stance.SUPPORTS, reliability=Reliability.B, **fields):
        source, _ = Source.objects.get_or_create(
            name=source_name,
            defaults={"kind": SourceKind.GOVERNMENT, "reliability": reliability},
        )
        fields.setdefault("title", f"{source_name} on {case.reference}")
        return EvidenceItem.objects.create(
            case=case,
            source=source,
            kind=EvidenceKind.STATEMENT,
            stance=stance,
            added_by=case.created_by,
            **fields,
        )

    return add
