"""dojo_runtime: emulated Dojo tiles and GPU pools that train real models.

No Django and no I/O in the core. The platform's workers drive `dojo_runtime.training`.
"""
