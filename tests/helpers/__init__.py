"""What the tests share, imported from here and never from a conftest (conftests only declare
fixtures): waiting for a condition, settings, the demo county, the store and its template
databases, the Temporal servers and the worker, workflow cases, the API client, the fake
upper-level system (上级信访信息系统) and the local stack as a black box."""
