"""Translated case data: `translations: {lang: ...}` merged over a case's base values for
letters in that language, and `check` warning once per case and language that has none."""

from __future__ import annotations

from letters.compose.translate import merged
from tests.conftest import CASE

TRANSLATED = CASE.replace(
    "facts:\n  law: Cybersecurity Law\n",
    "facts:\n  law: Cybersecurity Law\n  place: Hà Nội\n  names: [a, b]\n",
) + (
    "translations:\n"
    "  fr:\n"
    "    title: La liberté d'expression en ligne\n"
    "    demands: [libérer toutes les personnes détenues]\n"
    "    facts:\n"
    "      law: Loi sur la cybersécurité\n"
    "      names: [c]\n"
    "    sender:\n"
    "      title: Directeur\n"
)

FRENCH = """\
---
subject: "{{ case.title }}"
---
{{ recipient.salutation }}

Loi: {{ case.facts.law }}. Lieu: {{ case.facts.place }}. Noms: {{ case.facts.names | join("/") }}.
Demandes: {{ case.demands | prose_list }}. Titre: {{ sender.title }}.

Veuillez agréer,
"""

SIMPLE = "{{ recipient.salutation }}\n\nLoi: {{ case.facts.law }}.\n\nVeuillez agréer,\n"

FR_RECIPIENT = (
    "  - id: claire\n    name: Claire Dubois\n    honorific: Mme\n    language: fr\n"
    "    address: [1 rue X, 75001 Paris]\n"
)


def preview(run, root, who):
    result = run("preview", "free-expression", "--to", who, "--plain", "--no-pager", "-C", root)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_letter_in_the_translations_language_sees_its_values_merged(workspace, run):
    from tests.conftest import RECIPIENTS

    root = workspace(
        **{
            "cases/free-expression.yaml": TRANSLATED,
            "templates/appeal.fr.md.j2": FRENCH,
            "recipients.yaml": RECIPIENTS + FR_RECIPIENT,
        }
    )
    text = preview(run, root, "claire")
    assert "Loi: Loi sur la cybersécurité." in text
    assert "Lieu: Hà Nội." in text  # a fact the translation leaves out stays
    assert "Noms: c." in text  # lists are replaced, not merged
    assert "Demandes: libérer toutes les personnes détenues." in text
    assert "Titre: Directeur." in text
    assert "**Objet: La liberté d'expression en ligne**" in text
    assert "Directeur  \nOpen Net Watch" in text  # the signature block too
    english = preview(run, root, "ada")
    assert "We write about the Cybersecurity Law." in english


def test_check_warns_once_per_case_and_language_without_a_translation(workspace, run):
    from tests.conftest import RECIPIENTS

    more = FR_RECIPIENT + FR_RECIPIENT.replace("claire", "marie").replace("Claire", "Marie")
    root = workspace(**{"templates/appeal.fr.md.j2": SIMPLE, "recipients.yaml": RECIPIENTS + more})
    result = run("check", "-C", root)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("cases/free-expression.yaml:1:")
    assert "2 letter(s) in 'fr' (claire, marie)" in warnings[0]
    assert "no 'fr' translation" in warnings[0]

    # With a translation, or when the case is written in the letter's language: no warning.
    root2 = workspace(
        **{
            "cases/free-expression.yaml": TRANSLATED,
            "templates/appeal.fr.md.j2": FRENCH,
            "recipients.yaml": RECIPIENTS + more,
        }
    )
    assert "warning" not in run("check", "-C", root2).stderr
    french_case = CASE.replace("title: Free", "language: fr\ntitle: Free")
    root3 = workspace(
        **{
            "cases/free-expression.yaml": french_case,
            "templates/appeal.fr.md.j2": SIMPLE,
            "recipients.yaml": "recipients:\n" + more,
        }
    )
    assert "warning" not in run("check", "-C", root3).stderr


def test_an_error_in_a_translated_value_is_reported_at_its_line(workspace, run):
    from tests.conftest import RECIPIENTS

    case = TRANSLATED.replace("      names: [c]\n", "      names: [c]\n      when: 09/01/2026\n")
    template = FRENCH.replace("Veuillez", "Le {{ case.facts.when | long_date }}.\n\nVeuillez")
    root = workspace(
        **{
            "cases/free-expression.yaml": case,
            "templates/appeal.fr.md.j2": template,
            "recipients.yaml": RECIPIENTS + FR_RECIPIENT,
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    line = case.splitlines().index("      when: 09/01/2026") + 1
    assert f"cases/free-expression.yaml:{line}:" in result.stderr, result.stderr


def test_a_bad_translation_language_or_key_is_an_error(workspace, run):
    case = TRANSLATED.replace("  fr:\n", "  fr!:\n").replace("    title: La", "    titel: La")
    result = run("check", "-C", workspace(**{"cases/free-expression.yaml": case}))
    assert result.exit_code == 2
    assert "BCP 47" in result.stderr
    assert "unknown key 'titel'" in result.stderr


def test_mappings_merge_deeply_and_lists_are_replaced():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert merged(base, {"a": {"c": [3]}, "e": 1}) == {"a": {"b": 1, "c": [3]}, "d": "x", "e": 1}
