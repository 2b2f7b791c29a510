#!/usr/bin/env bash
# Install letters into ./.venv, with the system libraries WeasyPrint needs.
#   bash scripts/install.sh          # as root or with sudo available
# Debian/Ubuntu packages:
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0  WeasyPrint's text layout; with
#       libharfbuzz-subset0 present, fonts are subset about 1.7x faster (else fontTools)
#   fontconfig                                            font discovery
#   poppler-utils                                         pdftoppm/pdftotext, to look at PDFs
#   fonts-noto-core fonts-noto-cjk                        the serif faces of every other script
#       (Noto Serif CJK SC/TC/JP/KR; Noto Naskh Arabic, Noto Serif Hebrew, Thai, Myanmar,
#       Khmer, Devanagari, Tamil, Sinhala, Ethiopic, Georgian, Armenian, Noto Sans Symbols)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig poppler-utils
  fonts-noto-core fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Please install with your package manager: ${missing[*]}" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q '.[test]'
echo "Installed: $(.venv/bin/letters --version)"
