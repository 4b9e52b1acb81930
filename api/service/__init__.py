"""The service layer (业务层) both fronts call: register (登记), read and act on a petition —
the transaction, the workflow's start, query or update, and the view the reader may see. The
JSON routers parse, call one of these and return; a later HTML front calls the same functions
and declares the same ``petition_for`` dependency. Refusals are the exceptions of api.errors
(NotFound, NotAllowed, Refused, Pending, Unavailable, Invalid), never an HTTP answer.

- case.py: the petition as one reader asks for it (``Case``, ``petition_for``, ``reachable``);
- intake.py: ``register``;
- read.py: ``search``, ``detail``, ``notices``, ``documents``;
- act.py: ``act``, ``outcome`` (of an action answered Pending) and the actions that need the
  directory first (``assign``, ``transfer``, ``accept``, ``decide_extension``, ``set_owner``,
  ``on_behalf``: a rating or withdrawal the bureau records for the petitioner);
- views.py: the one mapper to the public view, masking included."""

from api.service.act import (
    ACTION_ID_PATTERN,
    accept,
    act,
    assign,
    decide_extension,
    on_behalf,
    outcome,
    set_owner,
    transfer,
)
from api.service.case import Case, PetitionId, petition_for, reachable
from api.service.intake import Registered, register
from api.service.read import detail, documents, notices, search

__all__ = [
    "ACTION_ID_PATTERN",
    "Case",
    "PetitionId",
    "Registered",
    "accept",
    "act",
    "assign",
    "decide_extension",
    "detail",
    "documents",
    "notices",
    "on_behalf",
    "outcome",
    "petition_for",
    "reachable",
    "register",
    "search",
    "set_owner",
    "transfer",
]
