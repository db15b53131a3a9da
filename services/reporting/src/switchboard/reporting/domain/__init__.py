"""Reporting's pure rules: how events fold into read models and what each metric means. No I/O here."""
