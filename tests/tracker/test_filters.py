"""The case list's country selects keep their markup once made: it must stay Django's
own select's, with the chosen country selected."""

from django import forms
from django.utils import translation

from tracker.filters import CaseFilter, CountrySelect, country_choices
from tracker.models import WeaponSystem


def djangos_select(name, value):
    return forms.Select(choices=[("", "---------"), *country_choices()]).render(
        name, value, {"id": f"id_{name}"}
    )


def test_the_country_select_reads_as_djangos_own():
    for value in ["KP", None, "", "RU", "KP"]:
        form = CaseFilter({"supplier_country": value} if value else {}).form
        rendered = str(form["supplier_country"])
        assert rendered == djangos_select("supplier_country", value)
    assert '<option value="KP" selected>' in rendered


def test_a_value_that_is_no_country_is_not_kept():
    str(CaseFilter({"supplier_country": "XX"}).form["supplier_country"])
    assert not any(key[1] == "XX" for key in CountrySelect.rendered)


def test_each_language_has_its_own_names():
    with translation.override("de"):
        german = str(CaseFilter({}).form["recipient_country"])
    english = str(CaseFilter({}).form["recipient_country"])
    assert "Nordkorea" in german
    assert "Nordkorea" not in english and "North Korea" in english


def test_every_filterset_shares_one_form_class_whose_choices_stay_current(db):
    first = CaseFilter({"weapon_system": "1"})
    first.is_valid()
    missile = WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")
    second = CaseFilter({"weapon_system": str(missile.pk)})
    assert type(second.form) is type(first.form)
    assert second.is_valid(), second.errors
    assert second.form.cleaned_data["weapon_system"] == missile
    assert second.form.fields["supplier_country"] is not first.form.fields["supplier_country"]


def test_a_country_is_checked_by_its_code_in_any_language():
    for language in ["en", "de"]:
        with translation.override(language):
            assert CaseFilter({"supplier_country": "KP"}).is_valid()
            refused = CaseFilter({"supplier_country": "XX"})
            assert not refused.is_valid()
            assert "XX" in refused.errors["supplier_country"][0]
    assert not CaseFilter({"recipient_country": "North Korea"}).is_valid()
