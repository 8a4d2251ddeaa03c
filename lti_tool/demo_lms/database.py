"""The demo LMS's own database: its own metadata and engine, never the tool's tables."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from lti_tool.models.base import NAMING_CONVENTION


class DemoBase(DeclarativeBase):
    """The LMS's tables: a metadata of their own, so the tool's migrations never see them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


lms_db = SQLAlchemy(model_class=DemoBase)
