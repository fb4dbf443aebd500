"""Helpers the test files share: stores made from templates, the world of accounts, Chromium."""
