"""Every table of the knowledge base and of its editing, so `SQLModel.metadata` knows them all."""

from models.api_key import ApiKey, ServerSecret
from models.audit import AuditEvent
from models.base import Citation, Status
from models.change import Change, ChangeHorizon
from models.condition import Condition, ProcedureCondition
from models.contraindication import Contraindication, ProcedureContraindication
from models.expert import Expert
from models.idempotency import IdempotentResponse
from models.ingredient import Ingredient, ProcedureIngredient
from models.pending_edit import PendingEdit
from models.procedure import NeedleLength, Procedure, Step
from models.quote import Quote, QuoteProcedure
from models.revision import Revision
from models.side_effect import IngredientSideEffect, ProcedureSideEffect, SideEffect
from models.source import Source
from models.topic import Position, Topic, TopicProcedure
from models.webhook import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Change",
    "ChangeHorizon",
    "Citation",
    "Condition",
    "Contraindication",
    "Expert",
    "IdempotentResponse",
    "Ingredient",
    "IngredientSideEffect",
    "NeedleLength",
    "PendingEdit",
    "Position",
    "Procedure",
    "ProcedureCondition",
    "ProcedureContraindication",
    "ProcedureIngredient",
    "ProcedureSideEffect",
    "Quote",
    "QuoteProcedure",
    "Revision",
    "ServerSecret",
    "SideEffect",
    "Source",
    "Status",
    "Step",
    "Topic",
    "TopicProcedure",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
