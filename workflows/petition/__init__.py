"""The petition's workflow, one concern a file: ``workflow`` (the class: main line, officer
actions), ``intake`` (交办/受理 clock), ``chain`` (the handling chain), ``aftercare`` (上传, 回访,
复查/复核), ``recorder`` (steps, slips, deadlines, search attributes), ``state`` (what a run
remembers). The rules they follow are in ``domain.lifecycle``."""

from temporalio import workflow

# Passed through the sandbox, as workflow.py explains (the package is imported first).
with workflow.unsafe.imports_passed_through():
    from workflows.petition.recorder import SEARCH_ATTRIBUTES
from workflows.petition.workflow import PetitionWorkflow

__all__ = ["SEARCH_ATTRIBUTES", "PetitionWorkflow"]
