"""Dojo Cloud SDK: a typed gRPC client and the `dojo` CLI. Generated wire types: dojo.v1.

from dojo import Client, specfile
with Client.from_env() as client:            # DOJO_SERVER, DOJO_API_KEY, DOJO_TIMEOUT
    job = client.create_job(specfile.load("examples/digits-mlp.yaml"))
    for event in client.watch_job(job.name):
        ...
"""

from dojo.client import Client
from dojo.config import ClientConfig
from dojo.errors import DojoError

__all__ = ["Client", "ClientConfig", "DojoError"]
