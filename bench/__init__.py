"""The benchmark of issue 5: synthetic data at several scales, the real server driven by wrk,
side by side with the limit (a bare Starlette app) and Datasette."""
