"""Every refusal is a 4xx with a reason, as problem details (RFC 9457); never a 500."""

from django.core.files.uploadedfile import SimpleUploadedFile

from evidence.models import EvidenceItem, Source, StoredFile
from tests import factories
from tracker.models import Case

PROBLEM = "application/problem+json"


def test_malformed_json_is_a_400_saying_so(monitor, token_client):
    response = token_client(monitor).post(
        "/api/v1/cases/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["detail"].startswith("JSON parse error")


def test_json_nested_too_deeply_to_read_is_a_400_and_changes_nothing(
    monitor, case_factory, token_client
):
    case = case_factory(title="Shells by rail")
    brackets = '{"title": ' + "[" * 5000 + "]" * 5000 + "}"  # 10 kB
    client = token_client(monitor)
    for method, path in [
        ("post", "/api/v1/cases/"),
        ("patch", f"/api/v1/cases/{case.reference}/"),
        ("post", f"/api/v1/cases/{case.reference}/actions/withdraw/"),
        ("post", f"/api/v1/cases/{case.reference}/evidence/"),
        ("post", "/api/v1/sources/"),
    ]:
        response = getattr(client, method)(path, data=brackets, content_type="application/json")
        assert response.status_code == 400, path
        assert response.json()["detail"] == "JSON parse error - nested too deeply."
    case.refresh_from_db()
    assert (case.title, case.state) == ("Shells by rail", "draft")


def test_a_field_the_request_does_not_take_is_a_400_naming_it(monitor, case_factory, token_client):
    case = case_factory(title="Shells by rail", summary="Containers left Rajin.")
    client = token_client(monitor)
    misspelt = client.patch(
        f"/api/v1/cases/{case.reference}/", {"sumary": "Corrected."}, format="json"
    )
    assert misspelt.status_code == 400
    [error] = misspelt.json()["errors"]
    assert error["pointer"] == "#/sumary"
    assert error["detail"].startswith("This request takes no “sumary”; it takes country, ")
    read_only = client.post(
        "/api/v1/cases/", {**factories.case_form(case), "state": "approved"}, format="json"
    )
    assert read_only.status_code == 400
    assert [e["pointer"] for e in read_only.json()["errors"]] == ["#/state"]
    case.refresh_from_db()
    assert case.summary == "Containers left Rajin."
    assert Case.objects.count() == 1


def test_a_body_of_another_type_is_a_415(monitor, token_client):
    response = token_client(monitor).post(
        "/api/v1/cases/", data="title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


def test_a_body_that_is_not_an_object_is_a_400(monitor, token_client):
    response = token_client(monitor).post("/api/v1/cases/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "#", "detail": "Invalid data. Expected a dictionary, but got list."}
    ]


def test_invalid_fields_are_listed_with_pointers_and_the_forms_messages(monitor, token_client):
    response = token_client(monitor).post(
        "/api/v1/cases/",
        {
            "title": "Shells",
            "summary": "Shells by rail.",
            "incident_type": "munitions_shipment",
            "incident_start": "2024-02-27",
            "incident_end": "2024-02-01",
            "place_name": "Rajin",
            "country": "KP",
            "latitude": 42.3,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Bad Request" and body["type"] == "about:blank"
    assert body["detail"] == "Invalid fields: incident_end, longitude."
    # The case form's own messages (Case.clean), as on the monitors' page.
    assert body["errors"] == [
        {
            "pointer": "#/incident_end",
            "detail": "The end of the date range cannot be before its start.",
        },
        {"pointer": "#/longitude", "detail": "Give both latitude and longitude, or neither."},
    ]


def test_a_bad_filter_is_a_400_naming_the_parameter(monitor, token_client):
    response = token_client(monitor).get(
        "/api/v1/cases/", {"incident_from": "yesterday", "state": "lost", "q": "x" * 201}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid query parameters: incident_from, q, state."
    assert {
        "parameter": "incident_from",
        "detail": "“yesterday” is not a date. Enter one as YYYY-MM-DD, e.g. 2024-01-31.",
    } in body["errors"]


def test_an_unknown_endpoint_is_a_404_in_the_apis_format(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/nothing/here/")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_too_many_requests_for_one_token_are_a_429_with_retry_after(
    monitor, token_client, settings
):
    settings.API_RATE_LIMIT = "3/minute"
    busy, other = token_client(monitor), token_client(monitor)
    answers = [busy.get("/api/v1/weapon-systems/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    throttled = busy.get("/api/v1/weapon-systems/")
    assert throttled["Content-Type"] == PROBLEM
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "Request was throttled" in throttled.json()["detail"]
    # Counted per token: the owner's other token is not held back.
    assert other.get("/api/v1/weapon-systems/").status_code == 200


def test_a_refused_upload_leaves_nothing_and_says_why(
    monitor, case_factory, token_client, evidence_root
):
    case = case_factory("draft")
    source = factories.SourceFactory(name="ROK National Intelligence Service")
    page = b"<!doctype html><html><script>alert(1)</script></html>"
    response = token_client(monitor).post(
        f"/api/v1/cases/{case.reference}/evidence/",
        {
            "title": "A saved web page",
            "source": source.pk,
            "kind": "media_report",
            "stance": "supports",
            "upload": SimpleUploadedFile("page.txt", page),
        },
        format="multipart",
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["pointer"] == "#/upload" and "contains HTML or SVG markup" in error["detail"]
    assert not EvidenceItem.objects.exists() and not StoredFile.objects.exists()
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def post_invoice(client, case, file_name):
    source = factories.SourceFactory(name="ROK National Intelligence Service")
    return client.post(
        f"/api/v1/cases/{case.reference}/evidence/",
        **factories.multipart(
            {"title": "Invoice", "source": source.pk, "kind": "document", "stance": "supports"},
            "upload",
            file_name,
            b"%PDF-1.4 an invoice",
        ),
    )


def test_a_file_name_with_hidden_characters_is_refused_as_sent(monitor, case_factory, token_client):
    response = post_invoice(token_client(monitor), case_factory("draft"), "invoice\u202efdp.exe")
    assert response.status_code == 400
    assert "invisible characters" in response.json()["errors"][0]["detail"]


def test_a_file_name_whose_extension_alone_is_too_long_is_kept_cut_to_fit(
    monitor, case_factory, token_client
):
    name = "a." + "p" * 300
    response = post_invoice(token_client(monitor), case_factory("draft"), name)
    assert response.status_code == 201
    assert response.json()["original_filename"] == name[:255]
    assert EvidenceItem.objects.get().original_filename == name[:255]


def test_a_proposed_source_that_exists_in_other_capitals_is_refused(monitor, token_client):
    factories.SourceFactory(name="Reuters")
    response = token_client(monitor).post(
        "/api/v1/sources/", {"name": "REUTERS", "kind": "news_outlet"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "#/name", "detail": "“Reuters” is already a source: choose it from the list."}
    ]
    proposed = token_client(monitor).post(
        "/api/v1/sources/", {"name": "Yonhap", "kind": "news_outlet"}
    )
    assert proposed.status_code == 201
    assert proposed.json()["reliability"] == "F" and proposed.json()["is_graded"] is False
    assert Source.objects.get(name="Yonhap").proposed_by == monitor


def test_files_posted_to_any_other_endpoint_never_reach_the_store(
    monitor, token_client, evidence_root
):
    response = token_client(monitor).post(
        "/api/v1/cases/",
        {"title": "x", "upload": SimpleUploadedFile("a.txt", b"A statement\n" * 1000)},
        format="multipart",
    )
    assert response.status_code == 415
    assert not evidence_root.exists() or not any(evidence_root.rglob("*.upload"))


def test_an_evidence_file_streams_through_the_same_ingest_as_the_pages(
    monitor, case_factory, token_client, monkeypatch, evidence_root
):
    """Hashed and scanned as it arrives, spooled beside the store (IncomingUpload), as
    on the evidence page, not read into memory or a temporary file elsewhere."""
    from evidence import files

    received = []
    check = files.check
    monkeypatch.setattr(
        files, "check", lambda upload, *a: received.append(upload) or check(upload, *a)
    )
    case = case_factory("draft")
    source = factories.SourceFactory(name="ROK National Intelligence Service")
    response = token_client(monitor).post(
        f"/api/v1/cases/{case.reference}/evidence/",
        {
            "title": "Briefing",
            "source": source.pk,
            "kind": "statement",
            "stance": "supports",
            "upload": SimpleUploadedFile("briefing.txt", b"Soldiers moved to Vladivostok.\n"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    [upload] = received
    assert isinstance(upload, files.IncomingUpload)
    assert upload.sha256 == response.json()["file"]["sha256"]
    assert (evidence_root / StoredFile.objects.get().relative_path).exists()


def test_a_key_too_large_for_any_number_is_a_400_and_changes_nothing(
    monitor, case_factory, token_client
):
    # JSON reads 1e400 as infinity, which no key can be.
    case = case_factory(title="Shells by rail")
    client = token_client(monitor)
    response = client.patch(
        f"/api/v1/cases/{case.reference}/",
        data='{"weapon_systems": [1e400]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "#/weapon_systems", "detail": 'Invalid pk "inf" - object does not exist.'}
    ]
    response = client.post(
        f"/api/v1/cases/{case.reference}/evidence/",
        data='{"title": "Photographs", "source": -1e400, "kind": "image", "stance": "supports"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "#/source", "detail": 'Invalid pk "-inf" - object does not exist.'}
    ]
    assert not case.weapon_systems.exists() and not case.evidence.exists()


def test_an_unpaired_surrogate_in_json_is_a_400_and_changes_nothing(
    monitor, case_factory, token_client
):
    # "\ud800" is valid JSON syntax but no character: no field can hold it, and an error
    # message that repeated it could not be written as UTF-8.
    case = case_factory(title="Shells by rail", incident_type="munitions_shipment")
    client = token_client(monitor)
    for method, path, body in [
        ("post", "/api/v1/cases/", '{"title": "Shells", "country": "\\ud800"}'),
        ("patch", f"/api/v1/cases/{case.reference}/", '{"incident_type": "\\ud800"}'),
        ("post", f"/api/v1/cases/{case.reference}/evidence/", '{"kind": "x\\udc80"}'),
        ("post", "/api/v1/sources/", '{"name": "Radio", "kind": ["\\ud800"]}'),
        ("post", f"/api/v1/cases/{case.reference}/actions/withdraw/", '{"\\ud800": ""}'),
    ]:
        response = getattr(client, method)(path, data=body, content_type="application/json")
        assert response.status_code == 400, path
        assert response.json()["detail"] == (
            "JSON parse error - a string holds an unpaired surrogate (\\ud800 to \\udfff), "
            "which is no character."
        )
    case.refresh_from_db()
    assert (case.title, case.incident_type) == ("Shells by rail", "munitions_shipment")
    assert case.state == "draft"
    assert not case.evidence.exists() and not Source.objects.filter(name="Radio").exists()
    # A pair is one character, as JSON writes those beyond the Basic Multilingual Plane.
    paired = client.patch(
        f"/api/v1/cases/{case.reference}/",
        data='{"title": "Shells \\ud83d\\ude82 by rail"}',
        content_type="application/json",
    )
    assert paired.status_code == 200
    assert paired.json()["title"] == "Shells \U0001f682 by rail"


def test_json_nested_nearly_as_deep_as_can_be_read_is_checked_for_surrogates(monitor, token_client):
    response = token_client(monitor).post(
        "/api/v1/sources/",
        data='{"name": ' + "[" * 900 + "]" * 900 + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/name"


def test_options_describes_no_case_hidden_or_not(case_factory, monitor, stakeholder, token_client):
    # DRF answers OPTIONS before it looks the case up: it would say 200 for any.
    draft = case_factory("draft")
    for user, case in [(stakeholder, draft), (monitor, draft)]:
        response = token_client(user).options(f"/api/v1/cases/{case.reference}/")
        assert response.status_code == 405
        assert response["Content-Type"] == PROBLEM
        assert response.json()["detail"] == 'Method "OPTIONS" not allowed.'
