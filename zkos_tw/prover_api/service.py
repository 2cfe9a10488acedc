"""``create_prover_api``: the prover API's job queues, HTTP listener and fake provers as one
service (reference §5). The node hands it the pipeline's queues around the provers."""

from __future__ import annotations

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.web.server import Site

from zkos_tw import config_values as v
from zkos_tw.batcher.fake_provers import create_fake_provers_from_config
from zkos_tw.prover_api.fri_jobs import FriJobs
from zkos_tw.prover_api.metrics import ProverMetrics
from zkos_tw.prover_api.server import MAX_BODY_BYTES, TOO_LARGE, ProverApi
from zkos_tw.prover_api.snark_jobs import SnarkJobs
from zkos_tw.rpc.server import LimitedHTTPChannel


class ProverApiChannel(LimitedHTTPChannel):
    """Refuses a body announced (or chunked) past 10 MiB before reading it: 413, then close."""

    def _reject(self, limit: int) -> None:
        self._rejected = True
        body = TOO_LARGE.encode()
        head = [
            b"HTTP/1.1 413 Payload Too Large",
            b"content-type: text/plain; charset=utf-8",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.loseConnection()


class ProverApiSite(Site):
    """The prover API's ``Site``: the body limit at the channel too; no per-request log."""

    protocol = ProverApiChannel
    max_request_bytes = MAX_BODY_BYTES

    def log(self, request):
        pass


class ProverApiService(MultiService):
    """The prover API: ``fri_jobs``, ``snark_jobs``, ``api`` and the child services."""

    name = "prover-api"

    def __init__(self, fri_jobs: FriJobs, snark_jobs: SnarkJobs, api: ProverApi):
        super().__init__()
        self.fri_jobs = fri_jobs
        self.snark_jobs = snark_jobs
        self.api = api


def create_prover_api(
    config,
    *,
    reactor,
    fri_input,
    fri_output,
    snark_input,
    snark_output,
    proof_storage,
    verifier=None,
    prover_input=lambda envelope: b"",
    registry=None,
    _endpoint=None,
) -> ProverApiService:
    """The ``ProverApiConfig``'s prover API. ``fri_input`` holds sealed batches, ``fri_output``
    gets proved ones; ``snark_input`` holds committed batches, ``snark_output`` gets
    ``ProofCommand``s. It listens on ``address`` when ``component_enabled``; the fake provers
    it runs (per their switches) use the same job queues as real ones. ``verifier`` (an
    ``IFriProofVerifier``; default: refuse every real proof) checks real FRI proofs; ``prover_input(envelope)`` gives a job's input bytes. With a
    ``registry`` the job queues export ``ProverMetrics``."""
    metrics = ProverMetrics(registry) if registry is not None else None
    fri_jobs = FriJobs(
        input=fri_input,
        output=fri_output,
        clock=reactor,
        verifier=verifier,
        prover_input=prover_input,
        job_timeout=config.job_timeout,
        max_assigned_batch_range=config.max_assigned_batch_range,
        metrics=metrics,
    )
    snark_jobs = SnarkJobs(
        input=snark_input,
        output=snark_output,
        clock=reactor,
        max_fris_per_snark=config.max_fris_per_snark,
        metrics=metrics,
    )
    service = ProverApiService(fri_jobs, snark_jobs, ProverApi(fri_jobs, snark_jobs, proof_storage))
    if config.component_enabled:
        endpoint = _endpoint or serverFromString(reactor, v.listen_address(config.address))
        listener = StreamServerEndpointService(
            endpoint, ProverApiSite(service.api.app.resource(), reactor=reactor)
        )
        listener.setName("prover-api-http")
        listener.setServiceParent(service)
    create_fake_provers_from_config(
        config,
        reactor=reactor,
        fri_jobs=fri_jobs,
        snark_input=snark_input,
        snark_output=snark_output,
    ).setServiceParent(service)
    return service
