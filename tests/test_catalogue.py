"""The public catalogue: centres and the services each offers (shared/API.md)."""

from starlette.testclient import TestClient


def test_centres_lists_the_demo_centres_with_names_and_location(client: TestClient) -> None:
    response = client.get("/api/v1/centres")
    assert response.status_code == 200
    centres = {c["code"]: c for c in response.json()}
    assert {"DAM-01", "DAM-02", "RIF-01", "RIF-02"} <= set(centres)
    mezzeh = centres["DAM-01"]
    assert mezzeh["name"]["ar"].startswith("مركز خدمة المواطن")
    assert mezzeh["name"]["en"].startswith("Citizen Service Centre")
    assert mezzeh["governorate"] == "Damascus"
    assert 33 < mezzeh["location"]["lat"] < 34 and 36 < mezzeh["location"]["lon"] < 37


def test_services_of_a_centre_carry_documents_and_fee(client: TestClient) -> None:
    response = client.get("/api/v1/centres/DAM-02/services")
    assert response.status_code == 200
    services = {s["code"]: s for s in response.json()}
    assert "VT" not in services  # Al-Midan does not transfer vehicles
    extract = services["CR"]
    assert extract["name"] == {"ar": "إخراج قيد فردي", "en": "Civil-registry extract"}
    assert {"ar": "البطاقة الشخصية", "en": "National ID card"} in extract["required_documents"]
    assert extract["fee"] == 2000
    assert extract["bookable"] is True and extract["walk_in"] is True


def test_unknown_centre_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/centres/XXX-99/services", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Unknown centre: XXX-99"}}


def test_error_messages_are_arabic_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/centres/XXX-99/services")
    assert response.json()["error"]["message"] == "مركز غير معروف: XXX-99"


def test_unknown_path_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_in_the_error_shape(client: TestClient) -> None:
    response = client.post("/api/v1/centres")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
