"""Every table of the knowledge base, so `SQLModel.metadata` knows them all."""

from models.base import Citation, Status
from models.condition import Condition, ProcedureCondition
from models.contraindication import Contraindication, ProcedureContraindication
from models.expert import Expert
from models.ingredient import Ingredient, ProcedureIngredient
from models.procedure import NeedleLength, Procedure, Step
from models.quote import Quote, QuoteProcedure
from models.side_effect import IngredientSideEffect, ProcedureSideEffect, SideEffect
from models.source import Source

__all__ = [
    "Citation",
    "Condition",
    "Contraindication",
    "Expert",
    "Ingredient",
    "IngredientSideEffect",
    "NeedleLength",
    "Procedure",
    "ProcedureCondition",
    "ProcedureContraindication",
    "ProcedureIngredient",
    "ProcedureSideEffect",
    "Quote",
    "QuoteProcedure",
    "SideEffect",
    "Source",
    "Status",
    "Step",
]
