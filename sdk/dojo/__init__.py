"""Dojo Cloud SDK: typed gRPC clients (sync and asyncio) and the `dojo` CLI. Generated wire
types: dojo.v1.

from dojo import Client, specfile
with Client.from_env() as client:            # DOJO_SERVER, DOJO_API_KEY, DOJO_TIMEOUT
    job = client.create_job(specfile.load("examples/digits-mlp.yaml"))
    for event in client.watch_job(job.name):
        ...

async with AsyncClient.from_env() as client:  # the same calls, awaited; streams: async for
    job = await client.create_job(spec)

BillingClient / AsyncBillingClient (BillingService) and OperatorClient / AsyncOperatorClient
(SchedulerService, operators only) are the other services' pairs.
"""

from dojo.async_billing import AsyncBillingClient
from dojo.async_client import AsyncClient
from dojo.async_operator import AsyncOperatorClient
from dojo.billing import BillingClient
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.errors import DojoError
from dojo.operator import OperatorClient

__all__ = [
    "AsyncBillingClient",
    "AsyncClient",
    "AsyncOperatorClient",
    "BillingClient",
    "Client",
    "ClientConfig",
    "DojoError",
    "OperatorClient",
]
