"""The extract stage: the runner (:mod:`pipelines.extract`) that loads, for each role, the dlt source
of the system playing it (``systems.system_for(role)``); the sources live in the systems' homes."""
