"""Schema of the knowledge base's authored data files (``knowledge/data/*.yaml``).

Each file is ``{"entries": [Entry, ...]}``. Entries are reviewed like code: unknown
fields are rejected, and every non-vegan food or material must name an alternative.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["non_vegan", "maybe", "vegan"]

# Categories the spec's `mappings.knowledge_categories` can map to principle ids.
Category = Literal[
    "meat",
    "poultry",
    "fish",
    "seafood",
    "dairy",
    "egg",
    "bee_product",
    "animal_fat",
    "animal_derivative",  # gelatin, collagen, isinglass, bone char, rennet, ...
    "additive",  # food additives, with E-number where one exists
    "dish",  # named dishes whose standard recipe is (not) vegan
    "plant_food",  # vegan staples, including those people wrongly think are not vegan
    "material",  # textiles, leathers, jewellery, tableware
    "cosmetic_ingredient",
    "household",
    "practice",  # entertainment, tourism, sport, research practices
]

FOOD_CATEGORIES = {
    "meat",
    "poultry",
    "fish",
    "seafood",
    "dairy",
    "egg",
    "bee_product",
    "animal_fat",
    "animal_derivative",
    "additive",
    "dish",
    "plant_food",
}
E_NUMBER = re.compile(r"^E\d{3,4}[a-z]?(\([ivx]+\))?$")


class Alternative(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    good_for: list[str] = Field(
        min_length=1,
        description="what it replaces the original for: binding, leavening, texture, flavour, umami, "
        "creaminess, protein, fat, sweetness, gelling, emulsifying, colour, warmth, durability, "
        "water_resistance, softness, shine, moisturising, experience, ...",
    )


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, description="canonical name, lower case")
    status: Status
    category: Category
    reason: str = Field(min_length=1, description="why it has this status; for 'maybe', what it depends on")
    synonyms: list[str] = Field(default_factory=list, description="other names and common spellings")
    e_number: str | None = Field(default=None, description="like E120 or E160a, upper-case E, no space")
    alternatives: list[Alternative] = Field(default_factory=list)

    @field_validator("e_number")
    @classmethod
    def _e_number(cls, value: str | None) -> str | None:
        if value is not None and not E_NUMBER.match(value):
            raise ValueError(f"e_number {value!r} must look like E120, E160a or E472(e)")
        return value

    @model_validator(mode="after")
    def _needs_alternative(self) -> Entry:
        if self.status == "non_vegan" and self.category != "practice" and not self.alternatives:
            raise ValueError(f"non_vegan entry {self.name!r} needs at least one alternative")
        if self.status == "non_vegan" and self.category == "practice" and not self.alternatives:
            raise ValueError(f"non_vegan practice {self.name!r} needs at least one animal-free alternative")
        return self


class KnowledgeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(min_length=1)
