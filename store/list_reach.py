"""Whose books a list reads, as disjoint branches: a unit's books (at the unit now, or handled
by it before 复查/复核) and a reader's reach (their units, the cases they own). The lists filter
by their OR; the lists' totals add the branches' counts, each one index's range — PostgreSQL can
count an OR of columns only by visiting every matching row of the wide petitions table."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from store.models import Petition

Branches = list[list[ColumnElement[bool]]]


def books_of(unit_id: str, overdue: bool | None) -> Branches:
    """The petitions on a unit's books: at the unit now, or handled by it before 复查/复核 and
    at another unit since; with ``overdue``, overdue (or not) in the unit's own round."""
    at_unit: list[ColumnElement[bool]] = [Petition.unit_id == unit_id]
    handled: list[ColumnElement[bool]] = [
        Petition.handling_unit_id == unit_id,
        Petition.unit_id != unit_id,
    ]
    if overdue is not None:
        at_unit.append(Petition.overdue.is_(overdue))
        handled.append(Petition.handling_overdue.is_(overdue))
    return [at_unit, handled]


def reach(units: list[str], owned_by: str | None) -> Branches:
    """A reader's reach: the petitions at ``units``, those handled by them before 复查/复核, and
    those ``owned_by`` this person (包案); each branch leaves out the rows of those before it
    (a row registered at the bureau has no unit yet: NULL is outside every unit)."""
    elsewhere = Petition.unit_id.is_(None) | Petition.unit_id.not_in(units)
    handled = Petition.handling_unit_id.in_(units)
    # A branch a unit: each one range of the unit's index, in list order.
    branches: Branches = [[Petition.unit_id == unit] for unit in units]
    branches.append([handled, elsewhere])
    if owned_by is not None:
        not_handled = Petition.handling_unit_id.is_(None) | Petition.handling_unit_id.not_in(units)
        branches.append([Petition.owner_id == owned_by, elsewhere, not_handled])
    return branches
