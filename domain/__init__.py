"""Pure petition (信访) domain: contracts, escalation policy and deadline arithmetic.

Nothing here reads the clock, the database, settings or the network; every function takes
``now`` (or the moment it reasons about) as an argument, so the workflow sandbox and unit tests
can import it freely.
"""
