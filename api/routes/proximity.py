"""Placeholder until the engine lands."""

from fastapi import APIRouter

router = APIRouter()
