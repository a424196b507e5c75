"""The deterministic synthetic demo ward: ``geomap demo load``.

:func:`load` generates a realistic, clearly labelled synthetic ward inside the real
boundary of a ward profile and writes it to PostGIS in one transaction, replacing that
ward's previous data. Generation (:mod:`geomap.demo.synthesis`, :mod:`geomap.demo.territory`)
is pure and deterministic; writing (:mod:`geomap.demo.data`, all of its SQL) uses COPY.

With ``scale`` above 1 the demo becomes a city: ``scale`` × the ward's establishments
(``--scale 17``: 102,000) shared among every ward of the city boundary file by
:func:`geomap.demo.profiles_city.city_shares` (urban wards denser than communes), those
without a profile file loaded through a generated profile. Each ward is then generated at
its own factor, so licences, inspections and reports stay in proportion.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

from sqlalchemy.engine import Connection

from geomap import config, db, profiles, status
from geomap.demo.profiles_city import city_profiles, city_shares, generated_profile
from geomap.demo.synthesis import TABLES, WardData, generate
from geomap.errors import GeomapError
from geomap.profiles import WardProfile

__all__ = ["load", "generate", "profiles_for", "city_profiles", "generated_profile", "WardData", "TABLES"]


def profiles_for(ward: str | None = None, scale: float = 1.0) -> list[WardProfile]:
    """The profiles a load covers: ``ward`` alone, or with ``scale`` > 1 the whole city (``ward`` first)."""
    main = profiles.get(ward or config.DEFAULT_WARD)  # UnknownWard / BoundaryError with one clear sentence
    main.boundary()
    if scale <= 1:
        return [main]
    others = [p for p in city_profiles(main.boundary_file) if p.slug != main.slug]
    return [main, *others]


def ward_factors(plan: list[WardProfile], scale: float) -> dict[str, float]:
    """The generation factor of each ward: ``scale`` for one ward; for a city, its share of the total."""
    if len(plan) == 1:
        return {plan[0].slug: scale}
    total = scale * plan[0].demo.get("establishments", 1000)
    shares = city_shares(plan, total)
    return {p.slug: shares[p.slug] / p.demo.get("establishments", 1000) for p in plan}


def load(engine: db.Bind | None = None, ward: str | None = "hoa-cuong", scale: float = 1.0,
         if_empty: bool = False, today: dt.date | None = None,
         progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load the synthetic ward ``ward`` (with ``scale`` > 1: the whole city) and return rows per table.

    Replaces the wards' existing data in one transaction (a failure leaves the database as it
    was). ``if_empty``: do nothing, and return ``{}``, when ``ward`` is already loaded.
    ``today`` fixes the reference date of licence expiries, inspections and reports.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise GeomapError(f"The demo scale must be a positive number, not {scale}.")
    plan = profiles_for(ward, scale)
    today = today or status.today()
    say = progress or (lambda _msg: None)
    with db.transaction(engine) as conn:
        return _load(conn, plan, scale, if_empty, today, say)


def _load(conn: Connection, plan: list[WardProfile], scale: float, if_empty: bool, today: dt.date,
          say: Callable[[str], None]) -> dict[str, int]:
    from geomap.demo import data as demo_data
    from geomap.wards import data as ward_data

    if if_empty and ward_data.ward_by_slug(conn, plan[0].slug) is not None:
        return {}
    real = ward_data.set_up_from_files(conn, [p.slug for p in plan])
    if real:
        raise GeomapError(f"{', '.join(real)} was set up from its own files ('geomap ward create'); the demo would "
                          "replace it with synthetic data, so it is not loaded over it.")
    demo_data.delete_wards(conn, [p.slug for p in plan])
    totals: dict[str, int] = {"ward": 0, **dict.fromkeys(TABLES, 0)}
    factors = ward_factors(plan, scale)
    for profile in plan:
        started = time.perf_counter()
        data = generate(profile, scale=factors[profile.slug], today=today)
        counts = demo_data.write_ward(conn, data)
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        say(f"{profile.name}: {counts['establishment']} establishments in {time.perf_counter() - started:.1f} s")
    demo_data.analyze(conn)
    return totals
