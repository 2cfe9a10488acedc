"""The node's configuration: read once, from four layers, into frozen per-component objects.

Each parameter is named ``<group>_<field>`` as in the reference (``sequencer_block_time``,
``rpc_address``, ``prover_api_fake_fri_provers_enabled``). Later layers override earlier ones:

1. the defaults below (those of the reference, §2.2),
2. environment variables (either case: ``sequencer_block_time`` or ``SEQUENCER_BLOCK_TIME``),
3. an optional TOML config file (``--config``): flat ``group_field = value`` keys, or
   ``[group]`` tables of ``field = value``,
4. ``twistd zkos`` options (``--sequencer-block-time=200ms``).

A malformed value, or an unknown variable that looks like ours, raises ``ConfigError`` whose text
is one line naming the variable and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from zkos_tw import config_values as v
from zkos_tw import data


class ConfigError(ValueError):
    """A configuration value is malformed or unknown; the message is one line for the user."""


def param(default: Any, parser: Callable[[str], Any], help: str, optional: bool = False):
    """Declare one parameter: its default, the parser of its text form, one line of help.

    A text default is parsed like any other value (``"0.0.0.0:3050"`` becomes an endpoint
    description); ``optional`` parameters default to ``None`` (unset), as does an empty value.
    """
    text = default if isinstance(default, str) else None
    if text is not None:
        default = parser(text)
    return field(
        default=default,
        metadata={"parser": parser, "help": help, "optional": optional, "default_text": text},
    )


@dataclass(frozen=True)
class GeneralConfig:
    """Process-wide settings."""

    l1_rpc_url: str = param("http://localhost:8545", v.url, "L1 JSON-RPC URL")
    min_blocks_to_replay: int = param(
        10, v.non_negative_int, "minimum blocks re-executed from the WAL on restart"
    )
    force_starting_block_number: int | None = param(
        None, v.non_negative_int, "override the block to start from", optional=True
    )
    rocks_db_path: str = param(
        "./db/node1", v.text, "data directory (the LMDB environment lives here)"
    )
    prometheus_port: int = param(3312, v.port, "Prometheus /metrics port (binds 0.0.0.0)")
    sentry_url: str | None = param(
        None,
        v.url,
        "Sentry DSN (accepted for compatibility; zkos-tw ships no Sentry client)",
        optional=True,
    )
    state_backend: str = param(
        "FullDiffs",
        v.one_of("FullDiffs", "Compacted"),
        "state history kept: FullDiffs or Compacted",
    )
    blocks_to_retain_in_memory: int = param(
        512, v.positive_int, "in-memory window of recent blocks"
    )
    zkstack_cli_config_dir: str | None = param(
        None,
        v.text,
        "zkstack chain directory (not supported: set the values directly)",
        optional=True,
    )
    main_node_rpc_url: str | None = param(
        None, v.url, "main node JSON-RPC URL (required on an external node)", optional=True
    )


@dataclass(frozen=True)
class GenesisConfig:
    """Which chain this node serves."""

    bridgehub_address: str = param(
        "0xf10A110E59a22b444c669C83b02f0E6d945b2b69", v.address, "L1 Bridgehub contract address"
    )
    chain_id: int = param(270, v.positive_int, "L2 chain id")
    genesis_input_path: str = param(
        None,
        v.text,
        "genesis.json to start from (unset: the genesis.json shipped in the package)",
        optional=True,
    )

    def __post_init__(self):
        if self.genesis_input_path is None:
            object.__setattr__(self, "genesis_input_path", data.path("genesis.json"))


@dataclass(frozen=True)
class SequencerConfig:
    """Block production (seal criteria apply to the main node only) and block replay."""

    block_replay_download_address: str | None = param(
        None,
        v.connect_address,
        "main node replay address; setting it makes an external node",
        optional=True,
    )
    block_replay_server_address: str = param(
        "0.0.0.0:3053", v.listen_address, "where external nodes fetch blocks from"
    )
    block_time: float = param(0.1, v.duration, "seal a non-empty block after this long")
    max_transactions_in_block: int = param(1000, v.positive_int, "seal at this many transactions")
    block_gas_limit: int = param(100_000_000, v.positive_int, "block gas limit")
    block_pubdata_limit_bytes: int = param(
        110_000, v.positive_int, "pubdata limit of a block (and of a batch)"
    )
    block_dump_path: str = param(
        "./db/block_dumps", v.text, "where a block that fails to execute is dumped"
    )
    fee_collector_address: str = param(
        "0x36615cf349d7f6344891b1e7ca7c72883f5dc049", v.address, "block coinbase"
    )
    base_fee_override: int | None = param(
        None, v.non_negative_int, "base fee in wei (default 1000)", optional=True
    )
    pubdata_price_override: int | None = param(
        None, v.non_negative_int, "pubdata price in wei (default 1)", optional=True
    )


#: ``rpc_send_raw_transaction_wait_timeout`` under ``--dev`` when unset (docs/rpc.md).
DEV_INCLUSION_WAIT = 10.0


@dataclass(frozen=True)
class RpcConfig:
    """The JSON-RPC server (HTTP and WebSocket on one port)."""

    address: str = param("0.0.0.0:3050", v.listen_address, "JSON-RPC listen address")
    eth_call_gas: int = param(10_000_000, v.positive_int, "gas for eth_call when none is given")
    max_connections: int = param(1000, v.positive_int, "maximum open connections")
    max_request_size: int = param(15, v.positive_int, "maximum request body, MiB")
    max_response_size: int = param(24, v.positive_int, "maximum response body, MiB")
    max_blocks_per_filter: int = param(
        100_000, v.positive_int, "maximum block range of eth_getLogs and log filters"
    )
    max_logs_per_response: int = param(20_000, v.positive_int, "maximum logs in one response")
    max_concurrent_traces: int = param(
        4, v.positive_int, "debug_trace* and trace_* calls running at once; more are refused"
    )
    max_trace_filter_blocks: int = param(
        100, v.positive_int, "maximum block range of trace_filter (toBlock - fromBlock)"
    )
    stale_filter_ttl: float = param(900.0, v.duration, "drop filters not polled for this long")
    send_raw_transaction_wait_timeout: float | None = param(
        None,
        v.duration,
        "answer eth_sendRawTransaction once the tx is in a stored block, waiting at most this "
        "long (0s: at once; unset: 10s with --dev, else at once)",
        optional=True,
    )

    workers: int | None = param(
        None,
        v.non_negative_int,
        "RPC worker processes sharing rpc_address (0: the RPC runs in the node process; "
        "unset: one per core but one, at least 1; 0 with --dev)",
        optional=True,
    )

    def worker_count(self, dev_mode: bool) -> int:
        """How many RPC worker processes to run (docs/rpc-workers.md); 0: the RPC is served by
        the node process itself, as before workers existed."""
        if self.workers is None:
            # One core is left to the sequencer: on 2 cores, 2 workers lowered included TPS by
            # 10-40 % against none, 1 worker kept it and raised the mixed load's by ~1.5x
            # (docs/load.md, "RPC workers").
            return 0 if dev_mode else max(1, (os.cpu_count() or 1) - 1)
        return self.workers

    def inclusion_wait(self, dev_mode: bool) -> float:
        """Seconds ``eth_sendRawTransaction`` holds its answer for the tx's block (0: none)."""
        if self.send_raw_transaction_wait_timeout is None:
            return DEV_INCLUSION_WAIT if dev_mode else 0.0
        return self.send_raw_transaction_wait_timeout


@dataclass(frozen=True)
class MempoolConfig:
    """Pending transaction pool limits (unset = unlimited)."""

    max_pending_txs: int | None = param(
        None, v.positive_int, "maximum pending transactions", optional=True
    )
    max_pending_size: int | None = param(
        None, v.positive_int, "maximum pending transactions size, bytes", optional=True
    )


@dataclass(frozen=True)
class TxValidatorConfig:
    """Transaction admission checks."""

    max_input_bytes: int = param(128 * 1024 * 1024, v.positive_int, "maximum calldata, bytes")


@dataclass(frozen=True)
class L1SenderConfig:
    """Commit / prove / execute transactions sent to L1 (main node)."""

    operator_commit_pk: str = param(
        "0xe3cfac06fad7427cc296c5ef0778f97c7bd59038294a746d59aafd8c8e64c96f",
        v.private_key,
        "commit operator key (dev default; alias l1_sender_operator_private_key)",
    )
    operator_prove_pk: str = param(
        "0x18d5754d1941125257bea433b38e5c3562e5ddb096bc84d9d5cb497eab713f40",
        v.private_key,
        "prove operator key (dev default)",
    )
    operator_execute_pk: str = param(
        "0x0d8523c8d72254293dd3fec214fe08c1eee7a813dfb959812f4a5c99024ab5e6",
        v.private_key,
        "execute operator key (dev default)",
    )
    max_fee_per_gas_gwei: int = param(101, v.non_negative_int, "L1 max fee per gas, gwei")
    max_priority_fee_per_gas_gwei: int = param(
        2, v.non_negative_int, "L1 max priority fee per gas, gwei"
    )
    command_limit: int = param(16, v.positive_int, "L1 transactions in flight per sender")
    poll_interval: float = param(0.1, v.duration, "L1 new-block polling interval")
    enabled: bool = param(True, v.boolean, "send batches to L1")


@dataclass(frozen=True)
class L1WatcherConfig:
    """Following L1 events (priority transactions, commits, executions)."""

    max_blocks_to_process: int = param(100, v.positive_int, "L1 blocks per eth_getLogs call")
    poll_interval: float = param(0.1, v.duration, "L1 polling interval")


@dataclass(frozen=True)
class BatcherConfig:
    """Batch seal criteria (main node)."""

    batch_timeout: float = param(1.0, v.duration, "seal a batch after this long")
    blocks_per_batch_limit: int = param(10, v.positive_int, "seal a batch at this many blocks")


@dataclass(frozen=True)
class ProverInputGeneratorConfig:
    """Prover input generation (main node)."""

    logging_enabled: bool = param(False, v.boolean, "use the logging prover binary")
    maximum_in_flight_blocks: int = param(16, v.positive_int, "blocks processed concurrently")
    force_process_old_blocks: bool = param(False, v.boolean, "regenerate inputs of old blocks")
    app_bin_unpack_path: str = param("./db/app_bins", v.text, "where prover binaries go")


@dataclass(frozen=True)
class ProverApiConfig:
    """The prover API and the fake provers (main node)."""

    component_enabled: bool = param(True, v.boolean, "serve the prover API (HTTP)")
    address: str = param("0.0.0.0:3124", v.listen_address, "prover API listen address")
    job_timeout: float = param(300.0, v.duration, "reassign a FRI job after this long")
    max_assigned_batch_range: int = param(10, v.positive_int, "batches assigned ahead")
    max_fris_per_snark: int = param(10, v.positive_int, "FRI proofs aggregated per SNARK")
    trusted_signers: tuple[str, ...] = param(
        "", v.address_list, "prover workers whose FRI attestations are accepted"
    )
    fake_fri_provers_enabled: bool = param(True, v.boolean, "run fake FRI provers")
    fake_fri_provers_workers: int = param(5, v.positive_int, "fake FRI prover workers")
    fake_fri_provers_compute_time: float = param(2.0, v.duration, "fake FRI proving time")
    fake_fri_provers_min_age: float = param(
        3.0, v.duration, "fake FRI provers take batches at least this old"
    )
    fake_snark_provers_enabled: bool = param(True, v.boolean, "run fake SNARK provers")
    fake_snark_provers_max_batch_age: float = param(
        10.0, v.duration, "fake SNARK provers take batches older than this"
    )
    object_store_mode: str = param(
        "FileBacked",
        v.one_of("FileBacked", "S3AnonymousReadOnly", "S3WithCredentialFile"),
        "where proofs are stored",
    )
    object_store_file_backed_base_path: str = param(
        "./db/shared", v.text, "FileBacked object store folder"
    )
    object_store_bucket_base_url: str | None = param(
        None, v.text, "S3 bucket base URL", optional=True
    )
    object_store_s3_credential_file_path: str | None = param(
        None, v.text, "S3 credential file", optional=True
    )
    object_store_endpoint: str | None = param(None, v.url, "S3 endpoint", optional=True)
    object_store_region: str | None = param(None, v.text, "S3 region", optional=True)
    object_store_max_retries: int = param(5, v.non_negative_int, "object store retries")
    object_store_local_mirror_path: str | None = param(
        None, v.text, "local mirror of the object store", optional=True
    )


@dataclass(frozen=True)
class ExternalNodeConfig:
    """External-node following (only read when ``sequencer_block_replay_download_address`` is set)."""

    stall_timeout: float = param(
        "30s",
        v.duration,
        "unhealthy when no block arrived for this long while the main node is ahead",
    )


@dataclass(frozen=True)
class BatchVerificationConfig:
    """Batch co-signing ("2FA", reference §8.2): ENs sign each batch before it is committed."""

    server_enabled: bool = param(False, v.boolean, "main node: collect signatures before commit")
    client_enabled: bool = param(False, v.boolean, "external node: sign batches on request")
    address: str = param(
        "0.0.0.0:3072",
        v.text,
        "main node: listen address; external node: the main node's (host:port or endpoint)",
    )
    threshold: int = param(1, v.non_negative_int, "signatures a commit needs (0: plain commits)")
    accepted_signers: tuple[str, ...] = param(
        "", v.address_list, "addresses whose signatures count (when L1 has no validator set)"
    )
    request_timeout: float = param(5.0, v.duration, "wait this long for answers to a request")
    retry_delay: float = param(1.0, v.duration, "pause before asking again")
    total_timeout: float = param(
        300.0, v.duration, "report a commit waiting for signatures after this long"
    )
    signing_key: str | None = param(
        None, v.private_key, "external node: the key it signs batches with", optional=True
    )

    @property
    def listen_endpoint(self) -> str:
        """``address`` as a server endpoint description (main node)."""
        return v.listen_address(self.address)

    @property
    def connect_endpoint(self) -> str:
        """``address`` as a client endpoint description (external node)."""
        return v.connect_address(self.address)


@dataclass(frozen=True)
class StatusServerConfig:
    """The health endpoint."""

    address: str = param("0.0.0.0:3071", v.listen_address, "health endpoint listen address")


@dataclass(frozen=True)
class LogConfig:
    """Log output."""

    format: str = param(
        "terminal", v.one_of("terminal", "json", "logfmt"), "terminal text, JSON lines or logfmt"
    )
    use_color: bool = param(True, v.boolean, "colour terminal logs")


@dataclass(frozen=True)
class DevConfig:
    """zkos-tw's own developer settings, used by ``twistd zkos --dev``."""

    anvil_path: str | None = param(
        None, v.text, "anvil binary (default: the project's .tools, then PATH)", optional=True
    )
    l1_state_path: str = param(
        None,
        v.text,
        "L1 state anvil loads in --dev, skipped when absent "
        "(unset: the zkos-l1-state.json shipped in the package)",
        optional=True,
    )

    def __post_init__(self):
        if self.l1_state_path is None:
            object.__setattr__(self, "l1_state_path", data.path("zkos-l1-state.json"))


GROUPS: dict[str, type] = {
    "general": GeneralConfig,
    "genesis": GenesisConfig,
    "sequencer": SequencerConfig,
    "rpc": RpcConfig,
    "mempool": MempoolConfig,
    "tx_validator": TxValidatorConfig,
    "l1_sender": L1SenderConfig,
    "l1_watcher": L1WatcherConfig,
    "batcher": BatcherConfig,
    "prover_input_generator": ProverInputGeneratorConfig,
    "prover_api": ProverApiConfig,
    "batch_verification": BatchVerificationConfig,
    "status_server": StatusServerConfig,
    "en": ExternalNodeConfig,
    "log": LogConfig,
    "dev": DevConfig,
}

# Other names that are accepted: alias -> canonical name.
ALIASES = {"l1_sender_operator_private_key": "l1_sender_operator_commit_pk"}

# Environment variables of ours that are not parameters (read where they are used).
KNOWN_ZKOS_VARIABLES = frozenset(
    {
        "zkos_no_extensions",
        "zkos_require_extensions",
        "zkos_tools_dir",
        "zkos_shared_dir",
        "zkos_conformance",
        "zkos_kzg_trusted_setup",
        "zkos_child_parent_pid",
    }
)


@dataclass(frozen=True)
class NodeConfig:
    """The whole configuration, one frozen sub-config per component."""

    general: GeneralConfig = field(default_factory=GeneralConfig)
    genesis: GenesisConfig = field(default_factory=GenesisConfig)
    sequencer: SequencerConfig = field(default_factory=SequencerConfig)
    rpc: RpcConfig = field(default_factory=RpcConfig)
    mempool: MempoolConfig = field(default_factory=MempoolConfig)
    tx_validator: TxValidatorConfig = field(default_factory=TxValidatorConfig)
    l1_sender: L1SenderConfig = field(default_factory=L1SenderConfig)
    l1_watcher: L1WatcherConfig = field(default_factory=L1WatcherConfig)
    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    prover_input_generator: ProverInputGeneratorConfig = field(
        default_factory=ProverInputGeneratorConfig
    )
    prover_api: ProverApiConfig = field(default_factory=ProverApiConfig)
    batch_verification: BatchVerificationConfig = field(default_factory=BatchVerificationConfig)
    status_server: StatusServerConfig = field(default_factory=StatusServerConfig)
    en: ExternalNodeConfig = field(default_factory=ExternalNodeConfig)
    log: LogConfig = field(default_factory=LogConfig)
    dev: DevConfig = field(default_factory=DevConfig)
    # Start anvil as a child process and use it as the L1 (`twistd zkos --dev`).
    dev_mode: bool = False

    @property
    def role(self) -> str:
        """``external_node`` when a replay download address is set, else ``main_node``."""
        if self.sequencer.block_replay_download_address is not None:
            return "external_node"
        return "main_node"

    def value(self, name: str) -> Any:
        """The value of one parameter by its full name (``sequencer_block_time``)."""
        group, field_name = split_name(name)
        return getattr(getattr(self, group), field_name)


@dataclass(frozen=True)
class Parameter:
    """One configuration parameter, as listed in ``--help`` and docs/configuration.md."""

    name: str
    group: str
    field: str
    default: Any
    parser: Callable[[str], Any]
    help: str
    optional: bool
    written_default: str | None = None

    @property
    def option(self) -> str:
        """The ``twistd zkos`` option name, without the leading dashes."""
        return self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        """The default as a user would write it (``100ms``, ``true``, ``unset``)."""
        if self.default is None:
            return "unset"
        if self.written_default is not None:
            return self.written_default
        if self.parser is v.duration:
            return f"{self.default * 1000:g}ms" if self.default < 1 else f"{self.default:g}s"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)

    @property
    def expected(self) -> str:
        """What a valid value looks like, from the parser's docstring."""
        return (self.parser.__doc__ or "").strip().split("\n")[0]


def parameters() -> Iterator[Parameter]:
    """Every parameter, group by group, in declaration order."""
    for group, cls in GROUPS.items():
        for f in dataclasses.fields(cls):
            yield Parameter(
                name=f"{group}_{f.name}",
                group=group,
                field=f.name,
                default=f.default,
                parser=f.metadata["parser"],
                help=f.metadata["help"],
                optional=f.metadata["optional"],
                written_default=f.metadata["default_text"],
            )


PARAMETERS: dict[str, Parameter] = {p.name: p for p in parameters()}
_PREFIXES = tuple(sorted((g + "_" for g in GROUPS), key=len, reverse=True))


def split_name(name: str) -> tuple[str, str]:
    """``sequencer_block_time`` -> (``sequencer``, ``block_time``)."""
    p = PARAMETERS.get(name)
    if p is None:
        raise ConfigError(f"unknown configuration parameter {name}")
    return p.group, p.field


def looks_like_ours(name: str) -> bool:
    """True for names in our namespaces: a group prefix (``rpc_``, ``l1_sender_``...) or ``zkos_``."""
    lower = name.lower()
    return lower.startswith(_PREFIXES) or lower.startswith("zkos_")


def _canonical(name: str) -> str | None:
    lower = name.lower()
    lower = ALIASES.get(lower, lower)
    return lower if lower in PARAMETERS else None


def _parse(p: Parameter, raw: str, where: str) -> Any:
    if p.optional and raw.strip() == "":
        return None
    try:
        return p.parser(raw)
    except ValueError as e:
        raise ConfigError(f"{where} {p.name}={raw!r}: expected {e}") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in sorted(environ):
        canonical = _canonical(name)
        if canonical is None:
            if looks_like_ours(name) and name.lower() not in KNOWN_ZKOS_VARIABLES:
                raise ConfigError(
                    f"unknown environment variable {name}: no zkos-tw setting has that name "
                    "(see `twistd zkos --help` or docs/configuration.md)"
                )
            continue
        values[canonical] = _parse(PARAMETERS[canonical], environ[name], "environment variable")
    return values


def _flatten_toml(data: dict, path: str) -> Iterator[tuple[str, Any]]:
    for key, item in data.items():
        if isinstance(item, dict):
            if key not in GROUPS:
                raise ConfigError(f"config file {path}: unknown section [{key}]")
            for sub, value in item.items():
                if isinstance(value, dict):
                    raise ConfigError(f"config file {path}: unexpected table [{key}.{sub}]")
                yield f"{key}_{sub}", value
        else:
            yield key, item


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot read it ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path}: not valid TOML ({e})") from None
    values: dict[str, Any] = {}
    for name, raw in _flatten_toml(data, path):
        canonical = _canonical(name)
        if canonical is None:
            raise ConfigError(f"config file {path}: unknown setting {name}")
        values[canonical] = _parse(PARAMETERS[canonical], _toml_text(raw), f"config file {path}:")
    return values


def _from_options(options: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in options.items():
        if raw is None:
            continue
        p = PARAMETERS[name]
        values[name] = _parse(p, raw, f"option --{p.option}:")
    return values


def build_config(values: Mapping[str, Any], dev_mode: bool = False) -> NodeConfig:
    """A ``NodeConfig`` from already-parsed values by full name; missing ones take defaults."""
    groups: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for name, value in values.items():
        group, field_name = split_name(name)
        groups[group][field_name] = value
    return NodeConfig(
        **{group: GROUPS[group](**kwargs) for group, kwargs in groups.items()}, dev_mode=dev_mode
    )


#: What ``--dev`` changes when the setting is not given (environment, file or option): a dApp
#: developer sees a transaction finalized on L1 within ~3 s instead of the reference's 12-20 s.
#: docs/running.md lists them.
DEV_DEFAULTS: dict[str, Any] = {
    "batcher_batch_timeout": 0.2,
    "prover_api_fake_fri_provers_min_age": 0.0,
    "prover_api_fake_fri_provers_compute_time": 0.1,
    "prover_api_fake_snark_provers_max_batch_age": 0.0,
}


def load_config(
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
    options: Mapping[str, str | None] | None = None,
    dev_mode: bool = False,
) -> NodeConfig:
    """Read defaults, then ``environ``, then ``config_file``, then ``options`` (text by name)."""
    values = _from_environment(os.environ if environ is None else environ)
    if config_file:
        values.update(_from_file(config_file))
    values.update(_from_options(options or {}))
    if dev_mode:
        values = {**DEV_DEFAULTS, **values}
    return build_config(values, dev_mode=dev_mode)


def validate(config: NodeConfig) -> NodeConfig:
    """Cross-parameter checks that one value alone cannot make; raises ``ConfigError``."""
    if config.role == "external_node" and config.general.main_node_rpc_url is None:
        raise ConfigError(
            "general_main_node_rpc_url is required on an external node "
            "(sequencer_block_replay_download_address is set)"
        )
    if config.general.zkstack_cli_config_dir is not None:
        raise ConfigError(
            "general_zkstack_cli_config_dir: reading zkstack chain folders is not supported by "
            "zkos-tw; set the chain id, keys and ports as variables instead"
        )
    if config.dev_mode:
        host = urlsplit(config.general.l1_rpc_url).hostname
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise ConfigError(
                f"general_l1_rpc_url={config.general.l1_rpc_url!r}: --dev starts anvil on this "
                "machine, so expected a localhost URL such as http://127.0.0.1:8545"
            )
    return config
