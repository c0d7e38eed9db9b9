"""A skeptic that reads every idea on the bus and publishes its strongest objection."""

from typing import Literal

from pydantic import BaseModel, Field

from sciswarm.agents.base import Role
from sciswarm.events import Idea, Message


class Critique(Message):
    """This role's own message kind; it travels on the bus like the built-in ones."""

    kind: Literal["critique"] = "critique"
    objection: str
    severity: int = Field(ge=1, le=5)

    def summary(self) -> str:
        return f"[severity {self.severity}] {self.objection}"


class Verdict(BaseModel):
    objection: str
    severity: int = Field(ge=1, le=5)


class SkepticParams(BaseModel):
    tone: str = "polite but blunt"


class Skeptic(Role[SkepticParams]):
    name = "skeptic"
    description = "Raises the strongest objection to each idea."
    subscribes = ("idea",)
    publishes = ("critique",)
    Params = SkepticParams

    async def handle(self, message: Message) -> None:
        assert isinstance(message, Idea)
        verdict = await self.ctx.model.ask_json(
            f"Idea: {message.title}\nPlan: {message.experiment}\n"
            'Give your strongest objection as JSON {"objection": str, "severity": 1-5}.',
            Verdict,
            system=f"You are a {self.params.tone} reviewer.",
            stage="critique",
        )
        await self.ctx.publish(Critique(**verdict.model_dump()), parent=message)
