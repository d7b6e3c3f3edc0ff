"""The sales workspace of a partner account (seed 003): the pipeline and lost
reasons (pipeline.py), feedback questions (feedback.py), assignment rules and
manual assignment (assignment.py), new leads entering the account
(entry.py), CSV imports (imports.py) and the registration page
(registration.py). Who may see or change what is decided in core.access.
"""
