"""Reports of a screened application: the self-contained HTML file (and its PDF evidence crops)."""
