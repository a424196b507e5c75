#!/usr/bin/env bash
# Installs what geomap needs from the system's packages, where missing and possible:
# PostgreSQL + PostGIS (the private database), Chromium (browser tests, static maps) and
# GDAL's command-line tools (the OGC API read by a real GDAL client; the export benchmark's reference).
# With GEOMAP_DATABASE_URL set, PostgreSQL is not needed here.
set -euo pipefail

need=()
if [ -z "${GEOMAP_DATABASE_URL:-}" ]; then
  if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    need+=(postgresql postgresql-postgis)
  fi
fi
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)  # Debian splits venv's pip out
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v wrk >/dev/null 2>&1 || need+=(wrk)  # HTTP load generator for `make bench`
command -v ogr2ogr >/dev/null 2>&1 || need+=(gdal-bin)  # GDAL's OAPIF client (tests), ogr2ogr reference (bench)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)

[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "geomap: installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
  echo "geomap: installing system packages with sudo: ${need[*]}"
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "geomap: please install these system packages, then run make again: ${need[*]}" >&2
  echo "        (PostgreSQL 15+ with PostGIS 3; or set GEOMAP_DATABASE_URL to a PostGIS database)" >&2
  exit 1
fi
