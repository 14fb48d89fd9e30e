import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from digests.models import Subscription
from tracker.models import Case, SanctionsProvision, Transition, WeaponSystem

pytestmark = pytest.mark.django_db


def snapshot():
    User = get_user_model()
    return {
        "users": list(User.objects.order_by("pk").values_list("username", "password")),
        "cases": list(Case.objects.order_by("pk").values()),
        "transitions": Transition.objects.count(),
        "weapons": WeaponSystem.objects.count(),
        "provisions": SanctionsProvision.objects.count(),
        "subscriptions": list(Subscription.objects.order_by("pk").values()),
    }


def test_load_demo_loads_the_six_seed_incidents_ready_for_review(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    out = capsys.readouterr().out
    for username in ("admin", "monitor", "reviewer", "stakeholder"):
        assert username in out

    titles = set(Case.objects.values_list("title", flat=True))
    assert len(titles) == 6
    assert any("Hwasong-11" in t for t in titles)
    assert any("Vladivostok" in t for t in titles)
    assert not Case.objects.filter(state="draft").exists()
    assert Case.objects.filter(state="in_review").count() == 1

    reviewer = get_user_model().objects.get(username="reviewer")
    assert Case.objects.visible_to(reviewer).count() == 6
    stakeholder = get_user_model().objects.get(username="stakeholder")
    assert Case.objects.visible_to(stakeholder).count() == 0

    shipment = Case.objects.get(title__startswith="About 6,700 containers")
    assert (shipment.supplier_country.code, shipment.recipient_country.code) == ("KP", "RU")
    assert shipment.incident_period == "September 2023 – February 2024"


def test_the_demo_passwords_log_the_users_in(settings, capsys, client):
    settings.DEBUG = True
    call_command("load_demo")
    out = capsys.readouterr().out
    passwords = dict(line.split() for line in out.splitlines() if line.startswith("  "))
    response = client.post(
        reverse("login"), {"username": "reviewer", "password": passwords["reviewer"]}
    )
    assert response.status_code == 302
    assert response.url == reverse("tracker:dashboard")


def test_the_demo_says_that_it_needs_no_second_factor(settings, capsys):
    settings.DEBUG = True
    settings.REQUIRE_2FA = False
    call_command("load_demo")
    assert "Two-factor sign-in is not required here" in capsys.readouterr().out


def test_running_load_demo_twice_changes_nothing(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    before = snapshot()
    call_command("load_demo")
    assert snapshot() == before
    assert "already loaded" in capsys.readouterr().out


def test_load_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("load_demo")
    assert not Case.objects.exists()


def test_the_demo_evidence_follows_the_article(settings, evidence_root):
    from evidence.corroboration import summarize
    from evidence.models import EvidenceItem

    settings.DEBUG = True
    call_command("load_demo")
    met = {c.title[:30]: summarize(c).meets_minimum for c in Case.objects.all()}
    assert any(met.values()) and not all(met.values())

    vladivostok = Case.objects.get(title__contains="Vladivostok")
    denial = vladivostok.evidence.get(source__name="Kremlin spokesman Dmitry Peskov")
    assert denial.stance == "refutes"
    assert (summarize(vladivostok).supporting_sources, summarize(vladivostok).refuting_sources) == (
        2,
        1,
    )

    # Proposed by the monitor who logged the cases, graded by a reviewer who did not.
    from evidence.models import Source

    assert set(Source.objects.values_list("proposed_by__username", "graded_by__username")) == {
        ("monitor", "reviewer")
    }

    un_finding = EvidenceItem.objects.get(reporting_outlet__name="Reuters")
    assert un_finding.source.name.startswith("UN Panel of Experts")
    assert un_finding.file is not None


def test_verify_evidence_on_the_demo_passes_and_then_names_an_altered_item(
    settings, evidence_root, capsys
):
    import os

    from evidence.files import path_of
    from evidence.models import EvidenceItem

    settings.DEBUG = True
    call_command("load_demo")
    call_command("verify_evidence")

    item = EvidenceItem.objects.filter(file__isnull=False).first()
    path = path_of(item.file)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"Demo excerpt", b"Demo-excerpt"))
    with pytest.raises(CommandError):
        call_command("verify_evidence")
    assert f"evidence item {item.pk}" in capsys.readouterr().err


def test_the_demo_has_digest_subscribers_most_without_a_login(settings):
    settings.DEBUG = True
    call_command("load_demo")

    subscriptions = {s.email: s for s in Subscription.objects.all()}
    assert set(subscriptions) == {
        "sanctions-committee@demo.invalid",
        "analyst@demo.invalid",
        "stakeholder@demo.invalid",
    }
    assert subscriptions["sanctions-committee@demo.invalid"].user is None
    assert subscriptions["analyst@demo.invalid"].incident_types == ["battlefield_use"]
    assert subscriptions["stakeholder@demo.invalid"].user.username == "stakeholder"
