"""``JobLine``: the pydantic model of one job line (``shockwave.traces.jobline``), imported
only when a line needs it (a value that is not plainly valid: to convert it or to say what is
wrong), because pydantic and the model take a tenth of a second to load."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shockwave.limits import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    MAX_NAME_CHARS,
    MAX_PRIORITY_WEIGHT,
    MAX_SECONDS,
    MAX_SLO,
    MAX_STEPS,
)
from shockwave.traces.jobline import MODEL_PATTERN, TEXT_PATTERN

_Text = Annotated[str, Field(pattern=TEXT_PATTERN)]


class JobLine(BaseModel):
    """One job of a trace; field names are the JSON Lines format's keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    id: int | None = Field(default=None, ge=0, description="must equal the line's job index")
    model: Annotated[str, Field(pattern=MODEL_PATTERN, max_length=MAX_NAME_CHARS)]
    batch_size: int = Field(ge=1, le=MAX_BATCH_SIZE)
    gpus: int = Field(default=1, ge=1, le=MAX_GPUS)
    mode: Literal["static", "accordion", "gns"] = "static"
    total_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    duration_s: float | None = Field(default=None, ge=0, le=MAX_SECONDS)
    arrival_s: float = Field(ge=0, le=MAX_SECONDS)
    priority_weight: float = Field(default=1.0, gt=0, le=MAX_PRIORITY_WEIGHT)
    slo: float | None = Field(default=None, le=MAX_SLO)
    command: _Text = ""
    working_directory: _Text = ""
    num_steps_arg: _Text = ""
    needs_data_dir: bool = False

    @model_validator(mode="after")
    def _has_length(self) -> JobLine:
        if self.total_steps is None and self.duration_s is None:
            raise ValueError("give total_steps, duration_s or both")
        return self
