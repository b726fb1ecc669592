"""Identification: is P(y | do(x), z) computable from the observational distribution, and how."""

from core.identify.id import NotIdentifiable, identify, is_identifiable, query_text, validate_query

__all__ = ["NotIdentifiable", "identify", "is_identifiable", "query_text", "validate_query"]
