"""The serve command: run the HTTP API with uvicorn (issue: HTTP API)."""
