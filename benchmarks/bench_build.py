"""Time `letters build` against a plain WeasyPrint loop, in the same run, on this machine.

    python benchmarks/bench_build.py            # 120 letters of three pages
    python benchmarks/bench_build.py --n 300 --memory --scale 5000

Prints the machine's cores, then each figure and the ratios the README quotes:

- the baseline: a one-process `weasyprint.HTML(...).write_pdf()` loop over the HTML that
  letters 0.1.0 made for the same letters (its layout is kept, frozen, in baseline-0.1.0/:
  a cheaper layout counts as a win, as it would for a user comparing with their own HTML);
- `letters build --format pdf` with all cores, and with `-j 1` (the per-letter win);
- a rebuild with nothing changed, and what one edited recipient rebuilds;
- `letters preview` and `letters check` start-up against `python -c "import jinja2"` (and,
  for scale, the libraries letters is built on, imported by a script with no letters code,
  then the same script writing a date and a country name in the sample's languages: Babel
  loads its CLDR data for each);
- every ratio is taken pair by pair (the loop and both builds in each of --rounds rounds;
  preview, check and the import in turn nine times) and the median is quoted: a shared
  machine that slows down for a minute moves the times, not the ratios;
- with --scale N, the per-letter rate at N letters against the rate at --n;
- with --memory, the peak RSS of --print at N and 4N letters that carry a 1 MB image.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

BASELINE_LAYOUT = Path(__file__).resolve().parent / "baseline-0.1.0"

PARAGRAPH = (
    "The draft law gives the authorities sweeping powers over what people may say online "
    "and obliges companies to hand over their users' data on request, without any "
    "independent oversight of how that data is then used. "
)
TEMPLATE = (
    '---\nsubject: "An appeal to {{ recipient.name }}"\n---\n{{ recipient.salutation }}\n\n'
    + "\n\n".join(f"{i}. {PARAGRAPH * 3}" if i % 4 == 0 else PARAGRAPH * 3 for i in range(1, 13))
    + "\n\nYours sincerely,\n"
)
CASE = """\
title: Benchmark campaign
date: 2026-03-14
reference: BENCH/1
sender:
  name: Sam Sender
  title: Director
  organisation: Open Net Watch
  address: [1 Example Street, London]
{logo}letters:
  - template: appeal
    to: [all]
"""


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model, siblings, physical = "", set(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                model = value
            elif key == "core id":
                physical.add(value)
            elif key == "physical id":
                siblings.add(value)
    except OSError:
        pass
    return (
        f"{platform.machine()}, {cores} usable cores ({len(physical) or '?'} physical core ids, "
        f"{len(siblings) or '?'} sockets), {model or platform.processor()}, "
        f"Python {platform.python_version()}"
    )


def write_png(path: Path, size: int) -> None:
    """A PNG of random noise, so it does not compress below `size` bytes."""
    side = int((size / 3) ** 0.5) + 1
    rows = b"".join(b"\x00" + random.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def workspace(root: Path, count: int, image: bool) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "cases").mkdir()
    people = "".join(
        f"  - id: person-{i:05d}\n    name: Person Number {i}\n    honorific: Dr\n"
        f"    organisation: Organisation {i}\n    address: [{i} Long Street, Town {i % 50}]\n"
        for i in range(count)
    )
    (root / "recipients.yaml").write_text("recipients:\n" + people, "utf-8")
    logo = ""
    if image:
        write_png(root / "logo.png", 1024 * 1024)
        logo = "  logo: logo.png\n"
    (root / "cases/bench.yaml").write_text(CASE.format(logo=logo), "utf-8")
    (root / "templates/appeal.md.j2").write_text(TEMPLATE, "utf-8")
    return root


def letters(root: Path, *args: str) -> tuple[float, str]:
    """Run the CLI; return its wall time and its summary line."""
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args, "-C", str(root)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**ENV, "COLUMNS": "200"},
    ).stdout
    lines = output.strip().splitlines()
    return time.perf_counter() - started, lines[-1] if lines else ""


PLAIN_LOOP = """
import sys, pathlib, weasyprint
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for page in sorted(source.glob('*.html')):
    weasyprint.HTML(filename=str(page)).write_pdf(target / (page.stem + '.pdf'))
"""


def plain_loop(html_dir: Path, target: Path) -> float:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", PLAIN_LOOP, str(html_dir), str(target)], check=True, env=ENV
    )
    return time.perf_counter() - started


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(root: Path, *args: str) -> float:
    command = [sys.executable, "-c", "from cli import main; main()", *args, "-C", str(root)]
    output = subprocess.run(
        [sys.executable, "-c", PEAK, *command],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    ).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=ENV)
    return time.perf_counter() - started


def paired(command: list[str], baseline: list[str], runs: int = 9) -> tuple[float, float, float]:
    """Run the two in turn, `runs` times each: their median times and the median of the
    ratios taken pair by pair (so a machine that slows down for a while moves neither)."""
    seconds(command), seconds(baseline)  # warm the disk cache and the bytecode cache
    pairs = [(seconds(command), seconds(baseline)) for _ in range(runs)]
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a / b for a, b in pairs),
    )


ROOT = Path(__file__).resolve().parent.parent
# Every Python here runs as an installed tool does: from compiled bytecode (pip compiles a
# package when it installs it). A source checkout under PYTHONDONTWRITEBYTECODE would
# otherwise recompile every module of letters on every run, and measure the compiler.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def baseline_html(scratch: Path, count: int) -> Path:
    """The HTML letters 0.1.0 made for the benchmark letters: its layout, today's data."""
    root = workspace(scratch / "baseline", count, image=False)
    for name in ("letter.html.j2", "letter.css"):
        shutil.copy(BASELINE_LAYOUT / name, root / "templates" / name)
    letters(root, "build", "--format", "html", "-q")
    return root / "out/bench/appeal"


def spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="letters (default 120)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of loop, build and build -j 1 (default 3)"
    )
    parser.add_argument("--memory", action="store_true", help="also measure --print memory")
    parser.add_argument("--scale", type=int, default=0, help="also time this many letters")
    parser.add_argument(
        "--startup", action="store_true", help="only preview and check against the import"
    )
    options = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as scratch:
        ENV["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "bytecode")
        if options.startup:
            startup(Path(scratch), runs=15)
            return
        html_dir = baseline_html(Path(scratch), options.n)
        pages = len(__import__("pypdf").PdfReader(_one_pdf(Path(scratch), html_dir)).pages)
        print(f"letters: {options.n}, {pages} pages each; {options.rounds} rounds")
        root = workspace(Path(scratch) / "ws", options.n, image=False)
        loops: list[float] = []
        fulls: list[float] = []
        serials: list[float] = []
        # Each round times the loop, then both builds from an empty out/: a ratio is taken
        # within its round, and the median round is quoted.
        for _ in range(options.rounds):
            loops.append(plain_loop(html_dir, Path(scratch) / "loop"))
            shutil.rmtree(root / "out", ignore_errors=True)
            fulls.append(letters(root, "build", "--format", "pdf", "-q")[0])
            shutil.rmtree(root / "out")
            serials.append(letters(root, "build", "--format", "pdf", "-j", "1", "-q")[0])
        unchanged, _ = letters(root, "build", "--format", "pdf", "-q")
        recipients = root / "recipients.yaml"
        recipients.write_text(recipients.read_text().replace("Person Number 7\n", "Person Seven\n"))
        one_edit, summary = letters(root, "build", "--format", "pdf")
        loop, full, serial = (statistics.median(times) for times in (loops, fulls, serials))
        print(f"plain WeasyPrint loop over 0.1.0 HTML: {loop:7.2f} s   baseline")
        print(
            f"letters build --format pdf (full):    {full:7.2f} s   "
            + spread([a / b for a, b in zip(loops, fulls, strict=True)])
        )
        print(
            f"letters build --format pdf -j 1:      {serial:7.2f} s   "
            + spread([a / b for a, b in zip(loops, serials, strict=True)])
        )
        print(
            f"rebuild, nothing changed:             {unchanged:7.2f} s   "
            f"{unchanged / full:.1%} of the full build"
        )
        print(f"rebuild after editing 1 recipient:    {one_edit:7.2f} s   ({summary})")

        startup(Path(scratch))

        if options.scale:
            base_peak = peak_rss_mb(root, "build", "--format", "pdf", "-q", "--force")
            big = workspace(Path(scratch) / "big", options.scale, image=False)
            started = time.perf_counter()
            peak = peak_rss_mb(big, "build", "--format", "pdf", "-q")
            elapsed = time.perf_counter() - started
            rate, base_rate = options.scale / elapsed, options.n / full
            print(
                f"{options.scale} letters: {elapsed:7.1f} s, {rate:.2f} letters/s "
                f"({rate / base_rate:.0%} of the rate at {options.n}); peak RSS {peak:.0f} MB "
                f"(at {options.n}: {base_peak:.0f} MB)"
            )

        if options.memory:
            for count in (options.n, options.n * 4):
                with tempfile.TemporaryDirectory() as memory_scratch:
                    root = workspace(Path(memory_scratch) / "ws", count, image=True)
                    build_peak = peak_rss_mb(root, "build", "--format", "pdf", "--print", "-q")
                    merge_peak = peak_rss_mb(root, "merge-print")
                    size = (root / "out/bench/print.pdf").stat().st_size / 2**20
                    print(
                        f"--print with {count:5d} letters of 1 MB: peak RSS build "
                        f"{build_peak:6.0f} MB, merge-print alone {merge_peak:6.0f} MB "
                        f"(print.pdf {size:,.0f} MB)"
                    )


def startup(scratch: Path, runs: int = 9) -> None:
    """`preview` and `check` of the sample against `python -c "import jinja2"`, as a user
    runs them after the first time (the compiled templates are in the user's cache)."""
    sample = scratch / "sample"
    subprocess.run(
        [sys.executable, "cli.py", "init", str(sample)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        env=ENV,
    )
    jinja = [sys.executable, "-c", "import jinja2"]
    cli = [sys.executable, "cli.py", "-C", str(sample)]
    preview, jinja_time, preview_ratio = paired(
        [*cli, "preview", "cybersecurity-law-2018", "--to", "apple-ceo", "--plain"], jinja, runs
    )
    check, _, check_ratio = paired([*cli, "check"], jinja, runs)
    # What letters cannot start faster than: the libraries it is built on, imported, with
    # one pydantic model and a one-command Typer app run (no letters code at all).
    floor, _, floor_ratio = paired([sys.executable, "-c", FLOOR], jinja, runs)
    # ... and with the CLDR data Babel loads to write a date and a country name in the
    # sample's languages (English for the preview's letter; check renders all three).
    english, _, english_ratio = paired([sys.executable, "-c", FLOOR + CLDR % "'en',"], jinja, runs)
    every, _, every_ratio = paired([sys.executable, "-c", FLOOR + CLDR % SAMPLE_TAGS], jinja, runs)
    print(f"python -c 'import jinja2':            {jinja_time:7.2f} s   baseline")
    print(f"letters preview (sample letter):      {preview:7.2f} s   {preview_ratio:.1f}x")
    print(f"letters check (sample campaign):      {check:7.2f} s   {check_ratio:.1f}x")
    print(f"(its libraries alone, no letters:     {floor:7.2f} s   {floor_ratio:.1f}x)")
    print(f"(... with CLDR data for en:           {english:7.2f} s   {english_ratio:.1f}x)")
    print(f"(... for en, vi and ko:               {every:7.2f} s   {every_ratio:.1f}x)")


FLOOR = """
import jinja2, yaml, babel.dates, pydantic, typer
class Model(pydantic.BaseModel):
    name: str
Model.model_validate({"name": "x"})
app = typer.Typer()
@app.command()
def command(name: str = "") -> None:
    pass
app(["--name", "x"], standalone_mode=False)
"""
CLDR = """
import datetime
for tag in (%s):
    babel.dates.format_date(datetime.date(2026, 3, 14), "long", locale=tag)
    babel.Locale.parse(tag).territories["GB"]
"""
SAMPLE_TAGS = "'en', 'vi', 'ko'"


def _one_pdf(scratch: Path, html_dir: Path) -> Path:
    sample = Path(scratch / "sample.pdf")
    import weasyprint

    weasyprint.HTML(filename=str(next(iter(sorted(html_dir.glob("*.html")))))).write_pdf(sample)
    return sample


if __name__ == "__main__":
    main()
