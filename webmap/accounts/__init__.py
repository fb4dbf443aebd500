"""Accounts: signing in and out, a person's own account, password resets."""
