"""The services' pictures (config/web/static/icons): one file for every name a service may carry,
each a well-formed, self-contained 48x48 SVG that draws in the colour of the text around it."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from organisation.models import SERVICE_ICONS

ICONS = Path(__file__).parent.parent / "config" / "web" / "static" / "icons"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name", SERVICE_ICONS)
def test_every_icon_name_has_a_well_formed_svg(name: str) -> None:
    root = ET.parse(ICONS / f"{name}.svg").getroot()  # raises on a file that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 48 48"
    assert root.get("stroke") == "currentColor" and root.get("fill") == "none"
    assert root.get("role") is None  # decorative: the service's name is written beside it
    drawn = [element.tag.removeprefix(SVG) for element in root.iter()][1:]
    assert drawn and set(drawn) <= {"path", "circle", "ellipse", "rect", "line", "polyline"}
    assert not any(key.endswith("href") for element in root.iter() for key in element.attrib)


def test_no_stray_icon_files() -> None:
    assert sorted(p.stem for p in ICONS.glob("*.svg")) == sorted(SERVICE_ICONS)


def test_the_icons_are_served_as_svg(client: TestClient) -> None:
    response = client.get("/static/icons/car.svg")
    assert (response.status_code, response.headers["content-type"]) == (200, "image/svg+xml")
