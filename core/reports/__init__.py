"""Reports (issue 7): the lead history and its download, the partner's and the
operator's dashboards, campaign performance, the pipeline report.

Every figure is an aggregate computed by the database (GROUP BY through
tortoise's annotate/values) over rows that core.access lets the viewer see:
a manager's report covers their subtree, a partner never another account's
leads, operator staff the marketplace.
"""
