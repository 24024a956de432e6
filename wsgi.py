"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from marketplace import create_app

app = create_app()
# Everything allocated at start-up (app, templates, metadata) is long-lived: keep it out of the cyclic
# garbage collector's scans, which otherwise cause occasional 100 ms pauses on busy pages (bench/README.md).
gc.freeze()
