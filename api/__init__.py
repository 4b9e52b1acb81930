"""The thin HTTP front (FastAPI, ``/api/v1``): registers petitions, relays officers' actions to
the workflows, and answers supervisors' queries from the read model."""
