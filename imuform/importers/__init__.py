"""Importers for what vendor apps, phone apps and lab systems write.

One module per format (`registry.formats`), each recognising its files from their content and reading
them into `streams.SensorFile`; `merge` puts the streams of each placement on one time base and the
placements on one clock; `importing` stores the result as a session.
"""
