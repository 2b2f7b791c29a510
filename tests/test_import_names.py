"""`letters import` of an office spreadsheet: first and last name columns joined in the
person's order, readable ids from any script, address columns as a structured address,
and `--tag`."""

from __future__ import annotations

import pytest

from letters.importing import slugify
from letters.importing.names import country_code
from tests.test_import import entries, write_csv


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("习近平", "xi-jin-ping"),
        ("習近平", "xi-jin-ping"),
        ("Владимир Путин", "vladimir-putin"),
        ("محمد بن سلمان", "mhmd-bn-slmn"),
        ("이건희", "i-geon-hui"),
        ("Nguyễn Thị Hoa", "nguyen-thi-hoa"),
    ],
)
def test_ids_are_readable_in_any_script(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("France", "FR"),
        ("Deutschland", "DE"),
        ("Россия", "RU"),
        ("中国", "CN"),
        ("USA", "US"),
        ("Việt Nam", "VN"),
        ("España", "ES"),
        ("gb", "GB"),
        ("Atlantis", ""),
    ],
)
def test_country_names_in_the_usual_languages(text, code):
    assert country_code(text) == code


OFFICE = (
    "First name,Last name,Organisation,Street,City,State,Postcode,Country,Language\n"
    "近平,习,中华人民共和国国务院,西长安街2号,西城区,北京市,100017,中国,zh\n"
    "Владимир,Путин,Администрация Президента,ул. Ильинка 23,Москва,Москва,103132,Россия,ru\n"
    "محمد,بن سلمان,الديوان الملكي,,Riyadh,,,Saudi Arabia,ar\n"
    "Claire,Dubois,Ministère de la Justice,13 place Vendôme,Paris,,75001,France,fr\n"
    "Viktor,Orbán,Miniszterelnökség,Kossuth Lajos tér 1,Budapest,,1055,Hungary,hu\n"
)


def test_an_office_spreadsheet_with_first_and_last_names_imports(workspace, run):
    root = workspace()
    source = write_csv(root, OFFICE)
    result = run("import", source, "--tag", "appeal-2026", "-C", root)
    assert result.exit_code == 0, result.output
    data = entries(root)
    assert "added xi-jin-ping (row 2): 习近平" in result.stdout
    assert "added vladimir-putin (row 3): Владимир Путин" in result.stdout
    assert "added mhmd-bn-slmn (row 4): محمد بن سلمان" in result.stdout
    assert "recipient-" not in result.stdout
    assert data["xi-jin-ping"]["family_name"] == "习"
    assert data["claire-dubois"]["name"] == "Claire Dubois"
    assert data["claire-dubois"]["family_name"] == "Dubois"
    assert data["orban-viktor"]["name"] == "Orbán Viktor"  # Hungarian: family name first
    assert data["claire-dubois"]["address"] == {
        "street": "13 place Vendôme",
        "city": "Paris",
        "postcode": "75001",
        "country": "FR",
    }
    assert data["xi-jin-ping"]["address"]["region"] == "北京市"
    # Without the street Saudi Arabia's post needs, the address stays as lines, as written.
    assert data["mhmd-bn-slmn"]["address"] == ["Riyadh", "Saudi Arabia"]
    assert all(entry.get("tags") == ["appeal-2026"] for entry in list(data.values())[2:])
    assert "appeal-2026" not in str(data["ada"].get("tags"))  # known people keep theirs
    result = run("check", "-C", root)
    assert result.exit_code == 0, result.output
    preview = run("preview", "free-expression", "--to", "claire-dubois", "--plain", "-C", root)
    assert "13 place Vendôme  \n75001 PARIS  \nFRANCE" in preview.stdout


def test_name_order_option_and_cjk_names_without_a_language(workspace, run):
    root = workspace()
    source = write_csv(root, "Given name,Surname\n近平,習\nJohn,Smith\n")
    assert run("import", source, "-C", root).exit_code == 0
    data = entries(root)
    assert data["xi-jin-ping"]["name"] == "習近平"  # written in Han: family name first
    assert data["john-smith"]["name"] == "John Smith"

    root2 = workspace()
    source = write_csv(root2, "Vorname,Nachname\nAnh,Nguyễn\n")
    result = run("import", source, "--name-order", "family-first", "-C", root2)
    assert result.exit_code == 0, result.output
    assert entries(root2)["nguyen-anh"]["name"] == "Nguyễn Anh"
    result = run("import", source, "--name-order", "surname", "-C", root2)
    assert result.exit_code == 2
    assert "--name-order 'surname' is not a name order" in result.stderr
    result = run("import", source, "--tag", "Not A Tag", "-C", root2)
    assert result.exit_code == 2


def test_a_bad_postcode_in_a_spreadsheet_is_an_error_at_its_cell(workspace, run):
    root = workspace()
    before = (root / "recipients.yaml").read_bytes()
    source = write_csv(
        root, "Prénom,Nom,Rue,Ville,Code postal,Pays\nClaire,Dubois,1 rue X,Paris,7500,France\n"
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    assert "people.csv:2:5: error: Code postal: '7500' is not a postcode of France" in result.stderr
    assert (root / "recipients.yaml").read_bytes() == before
