"""Attachments: blob stores and the upload service."""
