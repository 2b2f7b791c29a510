"""A campaign with letters in six languages and five scripts (Chinese, Korean, Arabic,
Persian, Russian, Vietnamese), written into a test's folder: for tests/test_scripts.py and
tests/test_rtl.py."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_tree

RECIPIENTS = """\
recipients:
  - id: xi
    name: 习近平
    honorific: 先生
    organisation: 中华人民共和国主席
    address:
      - 北京市西城区中南海
    language: zh-CN
  - id: tsai
    name: 蔡英文
    honorific: 女士
    address:
      - 臺北市中正區重慶南路一段122號
    language: zh-TW
  - id: lee
    name: 이재용
    honorific: 회장
    organisation: 삼성전자
    address:
      - 서울특별시 서초구 서초대로74길 11
    language: ko
  - id: sisi
    name: عبد الفتاح السيسي
    honorific: السيد
    organisation: رئاسة الجمهورية
    address:
      - قصر الاتحادية
      - القاهرة، مصر
    language: ar
  - id: pezeshkian
    name: مسعود پزشکیان
    honorific: آقای
    address:
      - خیابان پاستور
      - تهران، ایران
    language: fa
  - id: lavrov
    name: Сергей Лавров
    family_name: Лавров
    honorific: господин
    address:
      - Смоленская-Сенная пл., 32/34
      - Москва, 119200
    language: ru
  - id: hoa
    name: Nguyễn Thị Hoa
    honorific: Bà
    address:
      - Số 60 Trần Phú
      - Hà Nội
    language: vi
"""

CASE = """\
title: Release Ahmed Mansoor
date: 2026-03-14
reference: ONW/2026/7
sender:
  name: Ruth Okafor
  title: Director of Campaigns
  organisation: Open Net Watch
  address: [PO Box 4127, London WC1X 8ZZ, United Kingdom]
demands:
  - release Ahmed Mansoor
  - drop all charges
facts:
  name: Ahmed Mansoor
  arrested: 2017-03-20
  article: "28"
letters:
  - template: appeal
    to: [all]
"""

LIST = """
{% for demand in case.demands %}
{{ loop.index }}. {{ demand }}
{% endfor %}
"""

TEMPLATES = {
    "appeal.md.j2": "{{ recipient.salutation }}\n\nWe write about {{ case.facts.name }}.\n\n"
    "Yours sincerely,\n",
    "appeal.zh-Hans.md.j2": '---\nsubject: "关于{{ case.facts.name }}的呼吁"\n---\n'
    "{{ recipient.salutation }}\n\n我们就{{ case.facts.name }}一事致函。他于"
    "{{ case.facts.arrested | date_in_text }}被捕。我们呼吁：\n" + LIST + "\n此致敬礼，\n",
    "appeal.zh-Hant.md.j2": '---\nsubject: "關於{{ case.facts.name }}的呼籲"\n---\n'
    "{{ recipient.salutation }}\n\n我們就{{ case.facts.name }}一事致函。他於"
    "{{ case.facts.arrested | date_in_text }}被捕。我們呼籲：\n" + LIST + "\n此致敬禮，\n",
    "appeal.ko.md.j2": '---\nsubject: "{{ case.facts.name }} 석방 요청"\n---\n'
    "{{ recipient.salutation }}\n\n{{ case.facts.arrested | date_in_text }}에 체포된 "
    "{{ case.facts.name }}에 관하여 서한을 드립니다.\n" + LIST + "\n감사합니다.\n",
    "appeal.ar.md.j2": '---\nsubject: "نداء بشأن {{ case.facts.name }}"\n---\n'
    "{{ recipient.salutation }}\n\nنكتب إليكم بشأن {{ case.facts.name }}، الذي اعتُقل في "
    "{{ case.facts.arrested | date_in_text }} بموجب المادة {{ case.facts.article }}. "
    "ونطالب بما يلي:\n" + LIST + "\nوتفضلوا بقبول فائق الاحترام،\n",
    "appeal.fa.md.j2": '---\nsubject: "درخواست دربارهٔ {{ case.facts.name }}"\n---\n'
    "{{ recipient.salutation }}\n\nدربارهٔ {{ case.facts.name }} که در "
    "{{ case.facts.arrested | date_in_text }} بازداشت شد، به شما می‌نویسیم.\n"
    + LIST
    + "\nبا احترام،\n",
    "appeal.ru.md.j2": '---\nsubject: "Обращение по делу {{ case.facts.name }}"\n---\n'
    "{{ recipient.salutation }}\n\nМы пишем Вам по делу {{ case.facts.name }}, арестованного "
    "{{ case.facts.arrested | date_in_text }}.\n\nС уважением,\n",
    "appeal.vi.md.j2": '---\nsubject: "Về trường hợp {{ case.facts.name }}"\n---\n'
    "{{ recipient.salutation }}\n\nChúng tôi viết về {{ case.facts.name }}, bị bắt ngày "
    "{{ case.facts.arrested | date_in_text }}.\n\nTrân trọng,\n",
}


def script_campaign(root: Path, **files: str) -> Path:
    """The campaign in `root`; keyword arguments replace or add files (`__` for `/`)."""
    tree = {"recipients.yaml": RECIPIENTS, "cases/appeal.yaml": CASE}
    tree.update({f"templates/{name}": text for name, text in TEMPLATES.items()})
    tree.update({name.replace("__", "/"): text for name, text in files.items()})
    return write_tree(root, tree)
