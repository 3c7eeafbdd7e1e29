"""The simulator's OCPI modules: one file each, ``handle(sim, request) -> Answer``.

``ptp_simulator.routing`` picks the module from the URL; a handler reads and changes the simulator's
state through ``SimState``'s methods and calls the CPO through ``CpoClient``.
"""
