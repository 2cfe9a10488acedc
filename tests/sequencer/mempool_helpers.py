"""Fixed keys, signed transactions and a fake account reader for the mempool tests."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_checksum_address
from zope.interface import implementer

from zkos_tw.interfaces import IAccountReader
from zkos_tw.sequencer.mempool import Mempool

CHAIN_ID = 270
BLOCK_GAS_LIMIT = 100_000_000
#: Fixed private keys 0x01..01, 0x02..02, ...
KEYS = [bytes([i]) * 32 for i in range(1, 11)]
ADDRESSES = [bytes.fromhex(Account.from_key(k).address[2:]) for k in KEYS]
RECIPIENT = to_checksum_address("0x" + "ab" * 20)
RICH = 10**24


@implementer(IAccountReader)
class FakeAccounts:
    """Nonces and balances in dicts; unknown accounts have nonce 0 and ``default_balance``."""

    def __init__(self, default_balance: int = RICH) -> None:
        self.nonces: dict[bytes, int] = {}
        self.balances: dict[bytes, int] = {}
        self.default_balance = default_balance

    def nonce_of(self, address: bytes) -> int:
        """The nonce set for ``address`` (0)."""
        return self.nonces.get(address, 0)

    def balance_of(self, address: bytes) -> int:
        """The balance set for ``address`` (``default_balance``)."""
        return self.balances.get(address, self.default_balance)


_signed: dict[tuple, bytes] = {}


def sign(key_index: int = 0, nonce: int = 0, *, tx_type: int = 2, **overrides) -> bytes:
    """A signed transfer from ``KEYS[key_index]``: EIP-1559 by default (tip 1 gwei-ish small
    numbers: max fee 2000, tip 100), ``tx_type=0`` legacy (gas price 2000), ``1`` access list."""
    fields: dict = {"nonce": nonce, "gas": 21_000, "to": RECIPIENT, "value": 1, "data": b""}
    if tx_type == 2:
        fields.update(maxFeePerGas=2000, maxPriorityFeePerGas=100, chainId=CHAIN_ID, type=2)
    elif tx_type == 1:
        fields.update(gasPrice=2000, chainId=CHAIN_ID, type=1, accessList=[])
    else:
        fields.update(gasPrice=2000, chainId=CHAIN_ID)
    fields.update(overrides)
    for key in ("chainId", "to"):  # None: leave the field out (pre-EIP-155; contract creation)
        if key in fields and fields[key] is None:
            del fields[key]
    cache_key = (key_index, repr(sorted(fields.items())))
    raw = _signed.get(cache_key)
    if raw is None:
        raw = _signed[cache_key] = bytes(
            Account.sign_transaction(fields, KEYS[key_index]).raw_transaction
        )
    return raw


def make_pool(accounts: FakeAccounts | None = None, **kwargs) -> tuple[Mempool, FakeAccounts]:
    """A pool for ``CHAIN_ID`` with a 100M block gas limit, and its fake account reader."""
    accounts = FakeAccounts() if accounts is None else accounts
    kwargs.setdefault("chain_id", CHAIN_ID)
    kwargs.setdefault("block_gas_limit", BLOCK_GAS_LIMIT)
    return Mempool(accounts, **kwargs), accounts


def sign_typed(tx_type: int, fields: list, key_index: int = 0, *, high_s: bool = False) -> bytes:
    """Sign an EIP-2718 envelope by hand (for types and field values eth-account refuses):
    ``fields`` are the RLP fields before ``yParity, r, s``. ``high_s`` flips s to n - s."""
    import coincurve
    import rlp

    from zkos_tw.execution.transactions import SECP256K1N
    from zkos_tw.hashing import keccak256

    signing_hash = keccak256(bytes([tx_type]) + rlp.encode(fields))
    signature = coincurve.PrivateKey(KEYS[key_index]).sign_recoverable(signing_hash, hasher=None)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    y_parity = signature[64]
    if high_s:
        s, y_parity = SECP256K1N - s, 1 - y_parity
    return bytes([tx_type]) + rlp.encode(fields + [y_parity, r, s])


def fee_market_fields(nonce: int = 0, *, tip: int = 100, max_fee: int = 2000, gas: int = 21_000):
    """RLP fields of an EIP-1559 transfer for ``sign_typed(2, ...)``."""
    return [CHAIN_ID, nonce, tip, max_fee, gas, bytes.fromhex("ab" * 20), 1, b"", []]
