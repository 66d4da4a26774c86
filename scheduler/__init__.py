"""Dojo Cloud scheduler: the pure placement core, the live scheduling loop and the simulator."""
