"""The ``eth_`` namespace (reference §3.3), except filters and logs (``filters.py``) and
subscriptions (``pubsub.py``).

Every handler resolves its block id (``blocks.block_number``), asks the backend, and encodes the
answer. Constants of the reference: ``eth_gasPrice`` 1000, ``eth_maxPriorityFeePerGas`` 0,
``eth_protocolVersion`` ``zksync_os/0.0.1``, the ``eth_feeHistory`` stub.
"""

from __future__ import annotations

from dataclasses import replace

from twisted.internet.defer import Deferred

from zkos_tw.rpc.blocks import block_number, header_of
from zkos_tw.rpc.codec import BlockId, CallRequest, data, quantity
from zkos_tw.rpc.errors import BackendError, InvalidParams, Unimplemented
from zkos_tw.rpc.methods import resolve, rpc_method

GAS_PRICE = 1000
FEE_HISTORY_BASE_FEE = 10000
PROTOCOL_VERSION = "zksync_os/0.0.1"
NO_SIGNER = "node has no signer accounts"
NO_PROOFS = "unsupported as ZKsync OS has a different storage layout than Ethereum"


class EthNamespace:
    """Handlers of the ``eth_`` methods over an ``IRpcBackend``."""

    def __init__(self, backend, eth_call_gas: int = 10_000_000):
        self.backend = backend
        self.eth_call_gas = eth_call_gas

    # -- chain ------------------------------------------------------------------------------

    @rpc_method("eth_protocolVersion")
    def protocol_version(self):
        return PROTOCOL_VERSION

    @rpc_method("eth_syncing")
    def syncing(self):
        return False

    @rpc_method("eth_coinbase")
    def coinbase(self):
        raise Unimplemented()

    @rpc_method("eth_accounts")
    def accounts(self):
        return []

    @rpc_method("eth_blockNumber")
    async def block_number(self):
        return quantity(await resolve(self.backend.latest_block_number()))

    @rpc_method("eth_chainId")
    def chain_id(self):
        return quantity(self.backend.chain_id)

    @rpc_method("eth_gasPrice")
    def gas_price(self):
        return quantity(GAS_PRICE)

    @rpc_method("eth_maxPriorityFeePerGas")
    def max_priority_fee_per_gas(self):
        return quantity(0)

    @rpc_method("eth_feeHistory", "u64", "block_number", "any", required=2)
    def fee_history(self, count, newest, percentiles):
        if percentiles is not None and (
            not isinstance(percentiles, list)
            or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in percentiles)
        ):
            raise InvalidParams("third parameter: expected an array of numbers")
        return {
            "baseFeePerGas": [quantity(FEE_HISTORY_BASE_FEE)] * count,
            "gasUsedRatio": [0.5] * count,
            "baseFeePerBlobGas": [],
            "blobGasUsedRatio": [],
            "oldestBlock": quantity(0),
        }

    # -- blocks -----------------------------------------------------------------------------

    async def _block(self, block: BlockId, full: bool = False) -> dict | None:
        number = await block_number(self.backend, block)
        if number is None:
            return None
        return await resolve(self.backend.block_by_number(number, full))

    @rpc_method("eth_getBlockByNumber", "block_number", "bool")
    async def get_block_by_number(self, block, full):
        return await self._block(block, full)

    @rpc_method("eth_getBlockByHash", "hash32", "bool")
    async def get_block_by_hash(self, block_hash, full):
        return await self._block(BlockId(hash=block_hash), full)

    @rpc_method("eth_getHeaderByNumber", "block_number")
    async def get_header_by_number(self, block):
        found = await self._block(block)
        return None if found is None else header_of(found)

    @rpc_method("eth_getHeaderByHash", "hash32")
    async def get_header_by_hash(self, block_hash):
        found = await self._block(BlockId(hash=block_hash))
        return None if found is None else header_of(found)

    @rpc_method("eth_getBlockTransactionCountByNumber", "block_number")
    async def get_block_transaction_count_by_number(self, block):
        found = await self._block(block)
        return None if found is None else quantity(len(found["transactions"]))

    @rpc_method("eth_getBlockTransactionCountByHash", "hash32")
    async def get_block_transaction_count_by_hash(self, block_hash):
        return await self.get_block_transaction_count_by_number(BlockId(hash=block_hash))

    @rpc_method("eth_getUncleCountByBlockNumber", "block_number")
    async def get_uncle_count_by_block_number(self, block):
        return None if await self._block(block) is None else quantity(0)

    @rpc_method("eth_getUncleCountByBlockHash", "hash32")
    async def get_uncle_count_by_block_hash(self, block_hash):
        return await self.get_uncle_count_by_block_number(BlockId(hash=block_hash))

    @rpc_method("eth_getUncleByBlockNumberAndIndex", "block_number", "u64")
    def get_uncle_by_block_number_and_index(self, block, index):
        return None

    @rpc_method("eth_getUncleByBlockHashAndIndex", "hash32", "u64")
    def get_uncle_by_block_hash_and_index(self, block_hash, index):
        return None

    @rpc_method("eth_getBlockReceipts", "block_id")
    async def get_block_receipts(self, block):
        number = await block_number(self.backend, block)
        if number is None:
            return None
        return await resolve(self.backend.block_receipts(number))

    # -- transactions -----------------------------------------------------------------------

    @rpc_method("eth_getTransactionByHash", "hash32")
    async def get_transaction_by_hash(self, tx_hash):
        return await resolve(self.backend.transaction_by_hash(tx_hash))

    @rpc_method("eth_getRawTransactionByHash", "hash32")
    async def get_raw_transaction_by_hash(self, tx_hash):
        raw = await resolve(self.backend.raw_transaction_by_hash(tx_hash))
        return None if raw is None else data(raw)

    async def _hash_at(self, block: BlockId, index: int) -> bytes | None:
        found = await self._block(block)
        if found is None or index >= len(found["transactions"]):
            return None
        entry = found["transactions"][index]
        return bytes.fromhex((entry if isinstance(entry, str) else entry["hash"])[2:])

    @rpc_method("eth_getTransactionByBlockNumberAndIndex", "block_number", "u64")
    async def get_transaction_by_block_number_and_index(self, block, index):
        tx_hash = await self._hash_at(block, index)
        return None if tx_hash is None else await self.get_transaction_by_hash(tx_hash)

    @rpc_method("eth_getTransactionByBlockHashAndIndex", "hash32", "u64")
    async def get_transaction_by_block_hash_and_index(self, block_hash, index):
        return await self.get_transaction_by_block_number_and_index(BlockId(hash=block_hash), index)

    @rpc_method("eth_getRawTransactionByBlockNumberAndIndex", "block_number", "u64")
    async def get_raw_transaction_by_block_number_and_index(self, block, index):
        tx_hash = await self._hash_at(block, index)
        return None if tx_hash is None else await self.get_raw_transaction_by_hash(tx_hash)

    @rpc_method("eth_getRawTransactionByBlockHashAndIndex", "hash32", "u64")
    async def get_raw_transaction_by_block_hash_and_index(self, block_hash, index):
        return await self.get_raw_transaction_by_block_number_and_index(
            BlockId(hash=block_hash), index
        )

    @rpc_method("eth_getTransactionBySenderAndNonce", "address", "u64")
    async def get_transaction_by_sender_and_nonce(self, sender, nonce):
        return await resolve(self.backend.transaction_by_sender_and_nonce(sender, nonce))

    @rpc_method("eth_getTransactionReceipt", "hash32")
    async def get_transaction_receipt(self, tx_hash):
        return await resolve(self.backend.receipt(tx_hash))

    @rpc_method("eth_sendRawTransaction", "data")
    def send_raw_transaction(self, raw):
        # Not a coroutine: under load most calls are this one, in batches (docs/load.md).
        result = self.backend.send_raw_transaction(raw)
        if isinstance(result, Deferred):
            return result.addCallback(data)
        return data(result)

    # -- state ------------------------------------------------------------------------------

    async def _state_block(self, block: BlockId | None) -> int:
        number = await block_number(self.backend, block)
        if number is None:
            raise BackendError("block not found")
        return number

    @rpc_method("eth_getBalance", "address", "block_id", required=1)
    async def get_balance(self, address, block):
        number = await self._state_block(block)
        return quantity(await resolve(self.backend.balance(address, number)))

    @rpc_method("eth_getTransactionCount", "address", "block_id", required=1)
    async def get_transaction_count(self, address, block):
        if block is not None and block.tag == "pending":
            pending = await resolve(self.backend.pending_nonce(address))
            if pending is not None:
                return quantity(pending)
        number = await self._state_block(block)
        return quantity(await resolve(self.backend.nonce(address, number)))

    @rpc_method("eth_getCode", "address", "block_id", required=1)
    async def get_code(self, address, block):
        number = await self._state_block(block)
        return data(await resolve(self.backend.code(address, number)))

    @rpc_method("eth_getStorageAt", "address", "quantity", "block_id", required=2)
    async def get_storage_at(self, address, slot, block):
        number = await self._state_block(block)
        value = await resolve(self.backend.storage_at(address, slot, number))
        if isinstance(value, int):
            value = value.to_bytes(32, "big")
        return data(bytes(value).rjust(32, b"\0"))

    # -- simulation -------------------------------------------------------------------------

    async def _simulation_block(
        self, request: CallRequest, block: BlockId | None
    ) -> tuple[int, bool]:
        """Resolve the block of a call and run the request checks of reference §3.5.

        Returns the block whose post-state the call runs on and whether it runs in the context
        of the next block (``latest``, ``pending`` or no block: the block the transaction would
        go into, #18) rather than that block's own context (an explicit block).
        """
        kind = request.transaction_type
        if kind == 3 or request.blob_versioned_hashes or request.max_fee_per_blob_gas:
            raise BackendError("EIP-4844 transactions are not supported")
        if kind == 4 or request.authorization_list is not None:
            raise BackendError("EIP-7702 transactions are not supported")
        if kind == 0x7E:
            raise BackendError("upgrade transactions cannot be estimated")
        next_block = block is None or block.tag in ("latest", "pending")
        number = await block_number(self.backend, block)
        latest = await resolve(self.backend.latest_block_number())
        if number is None or number > latest:
            raise BackendError("block not found")
        found = await resolve(self.backend.block_by_number(number, False))
        if found is None:
            raise BackendError("block not found")
        if kind != 0x7F:
            base_fee = int(found.get("baseFeePerGas") or "0x0", 16)
            if next_block or number == 0:
                # The next block charges the sequencer's base fee (the genesis block is not
                # produced by the sequencer: its 1 gwei base fee applies to no transaction).
                base_fee = getattr(self.backend, "next_base_fee", base_fee)
            check_call_fees(request, base_fee)
        return number, next_block

    @rpc_method("eth_call", "call_request", "block_id", "any", "any", required=1)
    async def call(self, request, block, state_overrides, block_overrides):
        if state_overrides is not None:
            raise BackendError("state overrides are not supported in `eth_call`")
        if block_overrides is not None:
            raise BackendError("block overrides are not supported in `eth_call`")
        number, next_block = await self._simulation_block(request, block)
        if request.gas is None:
            request = replace(request, gas=self.eth_call_gas)
        return data(await resolve(self.backend.call(request, number, next_block=next_block)))

    @rpc_method("eth_estimateGas", "call_request", "block_id", "any", required=1)
    async def estimate_gas(self, request, block, state_overrides):
        if state_overrides is not None:
            raise BackendError("state overrides are not supported in `eth_call`")
        number, next_block = await self._simulation_block(request, block)
        estimate = self.backend.estimate_gas(request, number, next_block=next_block)
        return quantity(await resolve(estimate))

    # -- not supported ----------------------------------------------------------------------

    @rpc_method("eth_sendTransaction", "any")
    @rpc_method("eth_sign", "any", "any")
    @rpc_method("eth_signTransaction", "any")
    @rpc_method("eth_signTypedData", "any", "any")
    def no_signer(self, *args):
        raise BackendError(NO_SIGNER)

    @rpc_method("eth_getProof", "address", "any", "block_id", required=2)
    def get_proof(self, *args):
        raise BackendError(NO_PROOFS)

    @rpc_method("eth_simulateV1", "any", "any", required=1)
    @rpc_method("eth_callMany", "any", "any", "any", required=1)
    @rpc_method("eth_createAccessList", "any", "any", required=1)
    @rpc_method("eth_getAccount", "any", "any", required=1)
    @rpc_method("eth_getAccountInfo", "any", "any", required=1)
    @rpc_method("eth_blobBaseFee")
    def unimplemented(self, *args):
        raise Unimplemented()


U128_MAX = 2**128 - 1


def check_call_fees(request: CallRequest, base_fee: int) -> None:
    """The fee checks of the reference's ``CallFees`` (§3.5; fees are u128 there), with its
    messages, then the field the request's minimal buildable type (EIP-1559) needs."""
    gas_price = request.gas_price
    max_fee = request.max_fee_per_gas
    tip = request.max_priority_fee_per_gas
    if max_fee is None and tip is None:
        # Legacy, or no fee fields (gas price 0); a non-zero price must cover the base fee.
        if gas_price and gas_price < base_fee:
            raise BackendError("`maxFeePerGas` less than `block.baseFee`")
        return
    if gas_price is not None:
        raise BackendError(
            "both `gasPrice` and (`maxFeePerGas` or `maxPriorityFeePerGas`) specified"
        )
    if max_fee is not None:
        if not (max_fee == 0 and (tip or 0) == 0) and max_fee < base_fee:
            raise BackendError("`maxFeePerGas` less than `block.baseFee`")
        if max_fee < (tip or 0):
            raise BackendError("`maxPriorityFeePerGas` higher than `maxFeePerGas`")
    if base_fee + (tip or 0) > U128_MAX:
        raise BackendError("`maxPriorityFeePerGas` is too high")
    if tip is None:
        raise BackendError("missing `maxPriorityFeePerGas` field for EIP-1559 transaction")
