"""Plotly figures, the offline HTML report and the Dash app for analysed sessions.

Entry points: `dashboards.report.write_report` (one self-contained HTML file), `dashboards.report.
report_figures` (every chart, keyed, e.g. for PNG export) and `dashboards.app.create_app` (the Dash app,
data access injected). Figures take an `analysis.session.SessionAnalysis`; this package imports
`analysis` only.
"""
