"""Deploy our L1 contracts on anvil, register chain 270, fund the operators, deposit, dump the state.

``build_state()`` is what ``zkosctl l1 build-state`` runs: it starts anvil with the rich mnemonic
and fixed genesis timestamp / block interval, runs ``deploy_ecosystem()`` (every transaction from
the rich account with fixed fees, so every address and every hash is the same on each run), and
stops anvil with SIGINT so that ``--dump-state`` writes the state file.

This is a developer tool run outside the node's reactor, so it talks to anvil with a small
synchronous JSON-RPC client (stdlib ``urllib``); eth-abi and eth-account are codecs and signers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from eth_account import Account

from zkos_tw.l1.artifacts import (
    Artifact,
    decode_error,
    decode_result,
    encode_call,
    encode_constructor,
    load_artifact,
)

MNEMONIC = "stuff slice staff easily soup parent arm payment cotton trade scatter struggle"
RICH_ADDRESS = "0x36615Cf349d7F6344891B1e7CA7C72883F5dc049"
RICH_KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
L2_CHAIN_ID = 270
#: Protocol version 0.29.0 in ZKsync's packing (minor << 32 | patch).
PROTOCOL_VERSION = 29 << 32
ETHER = 10**18
#: Balance of every mnemonic account on the anvil that builds the state.
ANVIL_ACCOUNT_BALANCE_ETH = 100_000
#: anvil genesis timestamp (2026-01-01T00:00:00Z) and the fixed step between blocks.
GENESIS_TIMESTAMP = 1_767_225_600
BLOCK_INTERVAL = 12
MAX_FEE_PER_GAS = 20 * 10**9
MAX_PRIORITY_FEE_PER_GAS = 10**9
CALL_GAS = 10_000_000
DEPOSIT_L2_GAS_LIMIT = 500_000
L2_GAS_PER_PUBDATA = 800
COMMITTER_ROLE, PROVER_ROLE, EXECUTOR_ROLE = 1, 2, 4


class DeployError(Exception):
    """A step of the deployment failed; the message names the step and the reason."""


@dataclass(frozen=True)
class Addresses:
    """Where everything is on L1 (all determined by the deployer's nonces)."""

    bridgehub: str
    shared_bridge: str
    chain_type_manager: str
    validator_timelock: str
    verifier: str
    zk_chain: str


@dataclass(frozen=True)
class Deposit:
    """The deposit made to the rich account."""

    l1_tx_hash: str
    l2_tx_hash: str
    priority_id: int
    l2_value: int
    mint_value: int


@dataclass(frozen=True)
class Deployment:
    addresses: Addresses
    operators: dict[str, str]
    snark_signers: list[str]
    deposit: Deposit
    genesis_upgrade_tx_hash: str
    genesis_state_commitment: str
    l1_chain_id: int
    l2_chain_id: int
    protocol_version: int

    def as_dict(self) -> dict:
        return asdict(self)


class JsonRpc:
    """A minimal blocking JSON-RPC client for the deploy tool and the contract tests."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self._timeout = timeout
        self._id = 0

    def call(self, method: str, *params):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        request = urllib.request.Request(
            self.url, data=body.encode(), headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise DeployError(f"{method} to {self.url} failed: {e}") from None
        if "error" in answer:
            raise RpcError(method, answer["error"])
        return answer["result"]


class RpcError(DeployError):
    """A JSON-RPC error answer; ``data`` holds revert data when there is any."""

    def __init__(self, method: str, error: dict):
        self.code = error.get("code")
        self.data = _revert_data(error.get("data"))
        super().__init__(f"{method}: {error.get('message')}")


def _revert_data(data) -> bytes:
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return b""


class Sender:
    """Signs and sends transactions from one key with fixed fees, waits for each receipt."""

    def __init__(self, rpc: JsonRpc, key: str, abis: list[list], chain_id: int | None = None):
        self.rpc = rpc
        self.account = Account.from_key(key)
        self.address = self.account.address
        self.chain_id = chain_id if chain_id is not None else int(rpc.call("eth_chainId"), 16)
        self.nonce = int(rpc.call("eth_getTransactionCount", self.address, "pending"), 16)
        self._abis = abis
        #: Called after each successful transaction (the progress line of ``l1 build-state``).
        self.on_sent = None

    def send(self, label: str, to: str | None, data: bytes = b"", value: int = 0, gas=CALL_GAS):
        """Send; return the receipt; ``DeployError`` naming ``label`` and the revert reason."""
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "gas": gas,
            "maxFeePerGas": MAX_FEE_PER_GAS,
            "maxPriorityFeePerGas": MAX_PRIORITY_FEE_PER_GAS,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to
        raw = self.account.sign_transaction(tx).raw_transaction
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
        except RpcError as e:
            raise DeployError(f"{label}: {self.reason(e)}") from None
        self.nonce += 1
        receipt = self.wait(tx_hash)
        if int(receipt["status"], 16) != 1:
            raise DeployError(f"{label}: reverted: {self.replay_reason(tx, receipt)}")
        if self.on_sent is not None:
            self.on_sent()
        return receipt

    def wait(self, tx_hash: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise DeployError(f"no receipt for {tx_hash} after {timeout:.0f}s")
            time.sleep(0.05)

    def reason(self, error: RpcError) -> str:
        return decode_error(error.data, *self._abis) if error.data else str(error)

    def replay_reason(self, tx: dict, receipt: dict) -> str:
        """Re-run a failed transaction as a call on the state before its block."""
        block = int(receipt["blockNumber"], 16) - 1
        call = {"from": self.address, "data": "0x" + tx["data"].hex(), "gas": hex(tx["gas"])}
        if "to" in tx:
            call["to"] = tx["to"]
        if tx["value"]:
            call["value"] = hex(tx["value"])
        try:
            self.rpc.call("eth_call", call, hex(block))
        except RpcError as e:
            return self.reason(e)
        return "reverted (no reason when replayed)"


def eth_call(rpc: JsonRpc, artifact: Artifact, address: str, name: str, *args, block="latest"):
    """Call a view function; the decoded outputs (one value unwrapped)."""
    data = encode_call(artifact.abi, name, *args)
    result = rpc.call("eth_call", {"to": address, "data": "0x" + data.hex()}, block)
    values = decode_result(artifact.abi, name, bytes.fromhex(result[2:]))
    return values[0] if len(values) == 1 else values


def _checksum(raw: bytes) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(raw)


def operator_addresses(l1_sender=None) -> dict[str, str]:
    """The commit / prove / execute operator addresses of the node's (default) keys."""
    if l1_sender is None:
        from zkos_tw.config import L1SenderConfig

        l1_sender = L1SenderConfig()
    return {
        "commit": Account.from_key(l1_sender.operator_commit_pk).address,
        "prove": Account.from_key(l1_sender.operator_prove_pk).address,
        "execute": Account.from_key(l1_sender.operator_execute_pk).address,
    }


def load_artifacts(directory: str | None = None) -> dict[str, Artifact]:
    """The deployable contracts' artifacts (from ``contracts/l1/build`` unless ``directory``)."""
    names = (
        "Bridgehub",
        "ChainTypeManager",
        "L1SharedBridge",
        "TestnetVerifier",
        "ValidatorTimelock",
        "ZKChain",
    )
    return {name: load_artifact(name, directory) for name in names}


#: Transactions ``deploy_ecosystem`` sends: 5 deployments, 3 Bridgehub calls, a role and a
#: funding transfer for each of 3 operators, and the deposit (plus one per SNARK signer).
DEPLOY_TXS = 5 + 3 + 3 * 2 + 1


def deploy_ecosystem(
    rpc: JsonRpc,
    genesis_state_commitment: bytes,
    *,
    deployer_key: str = RICH_KEY,
    l2_chain_id: int = L2_CHAIN_ID,
    operators: dict[str, str] | None = None,
    operator_funding: int = 100 * ETHER,
    deposit_to: str = RICH_ADDRESS,
    deposit_value: int = 10_000 * ETHER,
    log=print,
    artifacts_dir: str | None = None,
    progress=None,
    snark_signers: tuple[str, ...] = (),
) -> Deployment:
    """Deploy and wire everything on the L1 behind ``rpc``; see the module docstring.

    The deployer is the admin of the ``TestnetVerifier``; after the deposit it registers each
    of ``snark_signers`` (addresses whose real SNARK aggregates the verifier accepts).
    ``progress`` (a ``zkos_tw.cli.progress.Progress``) counts the ``DEPLOY_TXS`` transactions
    plus one per SNARK signer."""
    arts = load_artifacts(artifacts_dir)
    abis = [a.abi for a in arts.values()]
    sender = Sender(rpc, deployer_key, abis)
    if progress is not None:
        progress.set_total(DEPLOY_TXS + len(snark_signers))
        sender.on_sent = progress.advance
    operators = operators or operator_addresses()

    def deploy(name: str, *args) -> str:
        receipt = sender.send(f"deploy {name}", None, encode_constructor(arts[name], *args))
        address = _checksum(bytes.fromhex(receipt["contractAddress"][2:]))
        log(f"{name}: {address}")
        return address

    def call(label: str, name: str, address: str, function: str, *args, value: int = 0):
        data = encode_call(arts[name].abi, function, *args)
        return sender.send(label, address, data, value)

    verifier = deploy("TestnetVerifier", sender.address)
    timelock = deploy("ValidatorTimelock", sender.address)
    bridgehub = deploy("Bridgehub", sender.address)
    shared_bridge = deploy("L1SharedBridge", bridgehub)
    ctm = deploy(
        "ChainTypeManager",
        bridgehub,
        timelock,
        verifier,
        PROTOCOL_VERSION,
        genesis_state_commitment,
    )
    call("set shared bridge", "Bridgehub", bridgehub, "setSharedBridge", shared_bridge)
    call("add chain type manager", "Bridgehub", bridgehub, "addChainTypeManager", ctm)
    call(
        f"register chain {l2_chain_id}", "Bridgehub", bridgehub, "createNewChain", l2_chain_id, ctm
    )
    zk_chain = _checksum(
        bytes.fromhex(eth_call(rpc, arts["Bridgehub"], bridgehub, "getZKChain", l2_chain_id)[2:])
    )
    log(f"ZKChain {l2_chain_id}: {zk_chain}")
    for role, bits in (
        ("commit", COMMITTER_ROLE),
        ("prove", PROVER_ROLE),
        ("execute", EXECUTOR_ROLE),
    ):
        address = operators[role]
        call(
            f"{role} operator role",
            "ValidatorTimelock",
            timelock,
            "setValidatorRoles",
            zk_chain,
            address,
            bits,
        )
        sender.send(f"fund {role} operator", address, value=operator_funding, gas=21_000)
        log(f"{role} operator: {address} ({operator_funding / ETHER:g} ETH)")

    deposit = request_deposit(
        rpc, sender, arts["Bridgehub"], bridgehub, l2_chain_id, deposit_to, deposit_value
    )
    log(f"deposit: {deposit_value / ETHER:g} ETH to {deposit_to} on L2, L2 tx {deposit.l2_tx_hash}")
    for signer in snark_signers:
        signer = _checksum(bytes.fromhex(signer[2:]))
        call(
            f"register SNARK signer {signer}",
            "TestnetVerifier",
            verifier,
            "setSnarkSigner",
            signer,
            True,
        )
        log(f"SNARK signer: {signer}")
    upgrade_hash = eth_call(rpc, arts["ZKChain"], zk_chain, "getL2SystemContractsUpgradeTxHash")
    return Deployment(
        addresses=Addresses(
            bridgehub=bridgehub,
            shared_bridge=shared_bridge,
            chain_type_manager=ctm,
            validator_timelock=timelock,
            verifier=verifier,
            zk_chain=zk_chain,
        ),
        operators=dict(operators),
        snark_signers=list(snark_signers),
        deposit=deposit,
        genesis_upgrade_tx_hash="0x" + upgrade_hash.hex(),
        genesis_state_commitment="0x" + genesis_state_commitment.hex(),
        l1_chain_id=sender.chain_id,
        l2_chain_id=l2_chain_id,
        protocol_version=PROTOCOL_VERSION,
    )


def request_deposit(
    rpc: JsonRpc,
    sender: Sender,
    bridgehub_artifact: Artifact,
    bridgehub: str,
    l2_chain_id: int,
    to: str,
    value: int,
    l2_gas_limit: int = DEPOSIT_L2_GAS_LIMIT,
) -> Deposit:
    """``requestL2TransactionDirect`` as the reference's generate-deposit tool does (§7.7)."""
    gas_price = MAX_FEE_PER_GAS
    base_cost = eth_call(
        rpc,
        bridgehub_artifact,
        bridgehub,
        "l2TransactionBaseCost",
        l2_chain_id,
        gas_price,
        l2_gas_limit,
        L2_GAS_PER_PUBDATA,
    )
    mint_value = value + base_cost
    request = (l2_chain_id, mint_value, to, value, b"", l2_gas_limit, L2_GAS_PER_PUBDATA, [], to)
    data = encode_call(bridgehub_artifact.abi, "requestL2TransactionDirect", request)
    receipt = sender.send(f"deposit {value} wei to {to}", bridgehub, data, value=mint_value)
    topic = "0x4531cd5795773d7101c17bdeb9f5ab7f47d7056017506f937083be5d6e77a382"
    logs = [log for log in receipt["logs"] if log["topics"] and log["topics"][0] == topic]
    if len(logs) != 1:
        raise DeployError(f"deposit: expected one NewPriorityRequest log, got {len(logs)}")
    payload = bytes.fromhex(logs[0]["data"][2:])
    return Deposit(
        l1_tx_hash=receipt["transactionHash"],
        l2_tx_hash="0x" + payload[32:64].hex(),
        priority_id=int.from_bytes(payload[:32], "big"),
        l2_value=value,
        mint_value=mint_value,
    )


# ---------------------------------------------------------------- anvil + dump


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AnvilProcess:
    """anvil for building the state: the rich mnemonic, fixed genesis time and block interval."""

    def __init__(
        self,
        anvil_path: str,
        port: int,
        dump_path: str | None = None,
        load_path: str | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        argv = [anvil_path, "--host", "127.0.0.1", "--port", str(port)]
        if load_path:
            argv += ["--load-state", load_path]
        else:
            argv += [
                "--mnemonic",
                MNEMONIC,
                "--balance",
                str(ANVIL_ACCOUNT_BALANCE_ETH),
                "--timestamp",
                str(GENESIS_TIMESTAMP),
            ]
        if dump_path:
            argv += ["--dump-state", dump_path]
        argv += list(extra_args)
        self.argv = argv
        self._log = tempfile.TemporaryFile()
        env = dict(os.environ, ZKOS_CHILD_PARENT_PID=str(os.getpid()))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zkos_tw.devnet.child", *argv],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.rpc = JsonRpc(self.url)

    def ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise DeployError(
                    f"anvil exited with code {self.process.returncode}: {self.tail()}"
                )
            try:
                self.rpc.call("eth_chainId")
                return
            except DeployError:
                if time.monotonic() > deadline:
                    raise DeployError(
                        f"anvil did not answer on {self.url} within {timeout:.0f}s"
                    ) from None
                time.sleep(0.1)

    def tail(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line]
        return lines[-1] if lines else "no output"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT (anvil writes ``--dump-state`` then exits); SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def build_state(
    output: str,
    genesis_state_commitment: bytes,
    anvil_path: str,
    *,
    port: int | None = None,
    log=print,
    **deploy_options,
) -> Deployment:
    """Run the whole build on a fresh anvil and write its ``--dump-state`` to ``output``."""
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise DeployError(f"cannot write {output}: no directory {directory}")
    fd, dump = tempfile.mkstemp(prefix=".zkos-l1-state-", suffix=".json", dir=directory)
    os.close(fd)
    os.unlink(dump)
    anvil = AnvilProcess(anvil_path, port or free_port(), dump_path=dump)
    try:
        anvil.ready()
        anvil.rpc.call("anvil_setBlockTimestampInterval", BLOCK_INTERVAL)
        deployment = deploy_ecosystem(
            anvil.rpc, genesis_state_commitment, log=log, **deploy_options
        )
    finally:
        anvil.stop()
    if not os.path.exists(dump):
        raise DeployError(f"anvil wrote no state to {dump}")
    with open(dump) as f:
        state = json.load(f)
    os.unlink(dump)
    try:
        with open(output, "w") as f:
            f.write(canonical_state(state))
    except OSError as e:
        raise DeployError(f"cannot write {output}: {e.strerror}") from None
    return deployment


def canonical_state(state: dict) -> str:
    """anvil's dump with its hash-map-ordered lists sorted, so equal states give equal bytes."""
    state = dict(state)
    state["blocks"] = sorted(
        state.get("blocks") or [], key=lambda b: int(b["header"]["number"], 16)
    )
    state["transactions"] = sorted(
        state.get("transactions") or [],
        key=lambda t: (t["block_number"], t["info"]["transaction_hash"]),
    )
    return json.dumps(state, sort_keys=True, separators=(",", ":")) + "\n"
