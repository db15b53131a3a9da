"""Intake's HTTP API: tickets, customers and accounts, and the channel webhooks."""
