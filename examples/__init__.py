"""Runnable examples of jobq handlers."""
