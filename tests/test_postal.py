"""Structured addresses, laid out by each country's postal rules (letters.compose.postal)."""

from __future__ import annotations

import pytest

from letters.compose.address import fit_address, recipient_lines, window_problems
from letters.compose.postal import postal_lines
from letters.workspace.schema import Case, Recipient
from tests.conftest import RECIPIENTS


def recipient(address, **extra):
    return Recipient.model_validate(
        {"id": "r", "name": "Claire Dubois", **extra, "address": address}
    )


def case(sender_address=("1 Example Street", "London"), language="en"):
    return Case.model_validate(
        {
            "title": "t",
            "language": language,
            "sender": {"name": "Sam", "address": sender_address},
            "letters": [{"template": "appeal", "to": ["all"]}],
        }
    )


PARIS = {"street": "20 avenue de Ségur", "postcode": "75007", "city": "Paris", "country": "FR"}
UK_SENDER = {"street": "PO Box 4127", "city": "London", "postcode": "WC1X 8ZZ", "country": "GB"}
FR_SENDER = {"street": "1 rue de Rivoli", "city": "Paris", "postcode": "75001", "country": "FR"}


def test_the_french_address_reads_postcode_and_town_in_capitals_above_france():
    lines = recipient_lines(recipient(PARIS, honorific="Mme", title="Ministre"), case(UK_SENDER))
    # France puts the organisation first, then the name (and its title), then the street.
    assert lines == ("Mme Claire Dubois", "Ministre", "20 avenue de Ségur", "75007 PARIS", "FRANCE")


def test_the_country_is_left_out_when_the_sender_posts_from_the_same_country():
    lines = recipient_lines(recipient(PARIS), case(FR_SENDER))
    assert lines[-1] == "75007 PARIS"
    assert "FRANCE" not in lines


def test_the_country_name_is_in_the_senders_language():
    lines = recipient_lines(recipient(PARIS), case(UK_SENDER, language="de"))
    assert lines[-1] == "FRANKREICH"
    korea = {"street": "서초대로74길 11", "city": "서초구", "region": "서울특별시",
             "postcode": "06620", "country": "KR"}  # fmt: skip
    assert recipient_lines(recipient(korea), case(FR_SENDER, language="fr"))[-1] == "CORÉE DU SUD"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            {"street": "Platz der Republik 1", "postcode": "11011", "city": "Berlin",
             "country": "DE"},
            ["Platz der Republik 1", "11011 BERLIN", "GERMANY"],
        ),
        (
            {"street": "ул. Ильинка, 23", "city": "Москва", "region": "Москва",
             "postcode": "103132", "country": "RU"},
            ["УЛ. ИЛЬИНКА, 23", "МОСКВА", "Москва", "103132", "RUSSIA"],
        ),
        (
            {"street": "1600 Amphitheatre Parkway", "city": "Mountain View", "region": "CA",
             "postcode": "94043", "country": "US"},
            ["1600 Amphitheatre Parkway", "MOUNTAIN VIEW, CA 94043", "UNITED STATES"],
        ),
        (
            {"street": "10 Downing Street", "city": "London", "postcode": "sw1a 2aa",
             "country": "GB"},
            ["10 Downing Street", "LONDON", "SW1A 2AA", "UNITED KINGDOM"],
        ),
        (
            {"street": "永田町2-3-1", "region": "東京都", "city": "千代田区",
             "postcode": "100-8968", "country": "JP"},
            ["〒100-8968", "東京都", "千代田区", "永田町2-3-1", "JAPAN"],
        ),
        (
            {"street": "2-3-1 Nagatacho", "region": "Tokyo", "city": "Chiyoda-ku",
             "postcode": "100-8968", "country": "JP"},
            ["2-3-1 Nagatacho", "Chiyoda-ku, TOKYO", "100-8968", "JAPAN"],
        ),
        (
            {"street": "西长安街2号", "region": "北京市", "city": "西城区",
             "postcode": "100017", "country": "CN"},
            ["100017", "北京市西城区", "西长安街2号", "CHINA"],
        ),
    ],
    ids=["germany", "russia", "us", "uk", "japan", "japan-latin", "china"],
)  # fmt: skip
def test_the_postcode_goes_where_the_countrys_post_wants_it(address, expected):
    assert list(postal_lines(address, language="en")) == expected


def test_the_title_follows_the_name_on_its_line_where_the_country_puts_the_name_last():
    korea = {"street": "서초대로74길 11", "city": "서초구", "region": "서울특별시",
             "postcode": "06620", "country": "KR"}  # fmt: skip
    lines = recipient_lines(
        recipient(korea, name="이건희", title="회장", organisation="삼성전자"), case()
    )
    assert lines == (
        "서울특별시 서초구", "서초대로74길 11", "삼성전자", "이건희 회장", "06620", "SOUTH KOREA"
    )  # fmt: skip


def test_the_list_form_is_unchanged():
    lines = recipient_lines(recipient(["1 Road", "Town"], title="Boss", organisation="Org"))
    assert lines == ("Claire Dubois", "Boss", "Org", "1 Road", "Town")


def test_the_window_rules_apply_to_the_formatted_lines():
    from letters.compose.address import default_windows

    window = default_windows()["a4"]
    long_street = ["Bâtiment A, escalier 3", "Résidence des Lilas", "12 rue X", "Porte 5"]
    address = {**PARIS, "street": long_street}
    who = recipient(address, title="Directrice", organisation="Ministère")
    lines = recipient_lines(who, case())
    assert lines[-2:] == ("75007 PARIS", "FRANCE")
    assert fit_address(lines, window).lines == lines  # fits, smaller
    too_long = recipient({**address, "street": long_street * 2}, title="T", organisation="O")
    assert window_problems(too_long, window, case())


def test_a_bad_postcode_is_an_error_at_its_line(workspace, run):
    root = workspace()
    text = RECIPIENTS + (
        "  - id: minister\n"
        "    name: Claire Dubois\n"
        "    address:\n"
        "      street: 20 avenue de Ségur\n"
        "      postcode: '7500'\n"
        "      city: Paris\n"
        "      country: FR\n"
    )
    (root / "recipients.yaml").write_text(text, "utf-8")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    line = text.splitlines().index("      postcode: '7500'") + 1
    assert f"recipients.yaml:{line}:" in result.stderr
    assert "'7500' is not a postcode of France" in result.stderr


def test_a_missing_required_field_and_an_unknown_country_are_errors(workspace, run):
    root = workspace()
    text = RECIPIENTS + (
        "  - id: senator\n"
        "    name: A Senator\n"
        "    address:\n"
        "      street: 1 Capitol Hill\n"
        "      city: Washington\n"
        "      country: US\n"
        "  - id: nowhere\n"
        "    name: Nobody\n"
        "    address: {street: 1 Road, city: Town, country: XX}\n"
    )
    (root / "recipients.yaml").write_text(text, "utf-8")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    lines = text.splitlines()
    line = lines.index("  - id: senator") + 4  # the mapping, at its first key
    assert f"recipients.yaml:{line}:" in result.stderr
    assert "an address in the United States needs region and postcode" in result.stderr
    assert "'XX' is not a country code" in result.stderr


def test_a_structured_address_in_the_letter(workspace, run):
    root = workspace()
    text = RECIPIENTS.replace(
        "    address:\n      - 12 St James's Square\n      - London SW1Y 4JH\n",
        "    address:\n      street: 20 avenue de Ségur\n      postcode: '75007'\n"
        "      city: Paris\n      country: FR\n",
    )
    (root / "recipients.yaml").write_text(text, "utf-8")
    result = run("preview", "free-expression", "--to", "ada", "--plain", "--no-pager", "-C", root)
    assert result.exit_code == 0, result.output
    assert "20 avenue de Ségur  \n75007 PARIS  \nFRANCE\n" in result.stdout
    assert run("check", "-C", root).exit_code == 0


def test_a_region_the_post_does_not_list_is_a_warning_not_an_error(workspace, run):
    root = workspace()
    text = RECIPIENTS + (
        "  - id: governor\n"
        "    name: A Governor\n"
        "    address:\n"
        "      street: 1303 10th Street\n"
        "      city: Sacramento\n"
        "      region: Calif.\n"
        "      postcode: '95814'\n"
        "      country: US\n"
        "  - id: mayor\n"
        "    name: A Mayor\n"
        "    address: {street: 1 Main St, city: Springfield, region: Illinois, postcode: '62701',"
        " country: US}\n"
    )
    (root / "recipients.yaml").write_text(text, "utf-8")
    result = run("check", "-C", root)
    assert result.exit_code == 0, result.output
    line = text.splitlines().index("      region: Calif.") + 1
    assert (
        f"recipients.yaml:{line}:15: warning: recipient 'governor': 'Calif.' is not a region"
        in (result.stderr)
    )
    assert "mayor" not in result.stderr  # a full name is fine as well as the code


def test_a_country_code_is_one_the_postal_data_has_rules_for():
    from letters.workspace.postal import check_country

    assert [check_country(code) for code in ("kr", " FR ", "AC", "VN")] == ["KR", "FR", "AC", "VN"]
    for code in ("EU", "UN", "ZZ", "XX", "F", "FRA", "Ü1", "ß", "ıt", "ＦＲ", "../"):
        with pytest.raises(ValueError, match="is not a country code"):
            check_country(code)
