"""``zkosctl statetest PATH...``: run Ethereum state tests (files, folders or a ``.tgz``).

For every case of the chosen fork it builds the pre-state in a ``MemoryState``, applies the
transaction bytes through the execution layer, and compares the post-state Merkle-Patricia root
and ``keccak(rlp(logs))`` with the expected ones. One JSON line per case
``{file, name, fork, indexes, pass, expected_root, root, error, ms}``, then a closing line
``N passed, M failed, K skipped`` (K counts tests without a post-state for the fork).
``--pure`` / ``--cext`` choose the instruction loop (``execution.engines``; default: the one
the dispatcher picked, the compiled loop when it is built).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import tarfile
import time

import rlp
from twisted.python import usage

from zkos_tw.cli.progress import Progress
from zkos_tw.execution import engines
from zkos_tw.execution.exceptions import InvalidTransaction
from zkos_tw.execution.forks import FORKS
from zkos_tw.execution.message import BlockEnvironment
from zkos_tw.execution.processing import apply_raw_transaction
from zkos_tw.hashing import keccak256
from zkos_tw.testing.memory_state import MemoryState

EMPTY_TRIE_ROOT = keccak256(rlp.encode(b""))


class Options(usage.Options):
    """Options of ``zkosctl statetest``."""

    synopsis = "PATH... [--fork NAME] [-j N] [--json] [--pure | --cext]"
    optFlags = [
        ["json", None, "Print the closing summary as a JSON line too"],
        ["failures-only", None, "Print only the cases that fail"],
        ["pure", None, "Use the pure-Python interpreter"],
        ["cext", None, "Use the compiled interpreter (default when it is built)"],
    ]
    optParameters = [
        ["fork", None, "Cancun", "Fork whose post-states to check"],
        ["jobs", "j", 1, "Worker processes", int],
        ["slowest", None, 0, "Print the N slowest files to stderr at the end", int],
        ["timeout", None, 0, "Fail a case that runs longer than this many seconds (0: none)", int],
    ]

    def parseArgs(self, *paths):
        if not paths:
            raise usage.UsageError("give at least one state test file, folder or .tgz")
        for path in paths:
            if not os.path.exists(path):
                raise usage.UsageError(f"{path}: no such file or folder")
        self["paths"] = list(paths)

    def postOptions(self):
        if self["fork"] not in FORKS:
            raise usage.UsageError(f"unknown fork {self['fork']!r}; known: {', '.join(FORKS)}")
        if self["pure"] and self["cext"]:
            raise usage.UsageError("--pure and --cext exclude each other")
        if self["jobs"] < 1:
            raise usage.UsageError("-j must be at least 1")
        self["engine"] = "cext" if self["cext"] else "pure" if self["pure"] else "default"
        try:
            engines.by_name(self["engine"])
        except ValueError as e:
            raise usage.UsageError(str(e)) from None


# -- loading ---------------------------------------------------------------------------------


def iter_sources(paths):
    """Yield ``(display_name, loader)`` for every .json test file under ``paths``.

    ``loader()`` returns the file's bytes; for a .tgz the bytes are read eagerly.
    """
    for path in paths:
        if path.endswith((".tgz", ".tar.gz")):
            with tarfile.open(path, "r:gz") as archive:
                for member in archive:
                    if member.isfile() and member.name.endswith(".json"):
                        yield member.name, archive.extractfile(member).read()
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".json"):
                        full = os.path.join(root, name)
                        with open(full, "rb") as f:
                            yield full, f.read()
        else:
            with open(path, "rb") as f:
                yield path, f.read()


def _int(text) -> int:
    return int(text, 16) if isinstance(text, str) else int(text)


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _address(text: str) -> bytes:
    return _hex_bytes(text).rjust(20, b"\0")


def build_pre_state(pre: dict) -> MemoryState:
    """A ``MemoryState`` holding the test's pre-state accounts."""
    state = MemoryState()
    for address, account in pre.items():
        state.set_account(
            _address(address),
            nonce=_int(account.get("nonce", "0x0")),
            balance=_int(account.get("balance", "0x0")),
            code=_hex_bytes(account.get("code", "0x")),
            storage={_int(k): _int(v) for k, v in account.get("storage", {}).items()},
        )
    return state


def _block_hash(number: int) -> bytes:
    """State tests fix BLOCKHASH(n) to keccak256 of the decimal string of n."""
    return keccak256(str(number).encode())


def build_block_env(env: dict, state, fork, engine=None) -> BlockEnvironment:
    """The ``BlockEnvironment`` described by a test's ``env`` section (``engine``: an
    ``execute_code`` from ``execution.engines``, None for the default)."""
    return BlockEnvironment(
        state,
        coinbase=_address(env["currentCoinbase"]),
        number=_int(env["currentNumber"]),
        gas_limit=_int(env["currentGasLimit"]),
        timestamp=_int(env["currentTimestamp"]),
        base_fee=_int(env.get("currentBaseFee", "0x0")),
        prev_randao=_int(env.get("currentRandom", "0x0")),
        difficulty=_int(env.get("currentDifficulty", "0x0")),
        excess_blob_gas=_int(env.get("currentExcessBlobGas", "0x0")),
        block_hashes=_block_hash,
        fork=fork,
        engine=engine,
    )


# -- post-state commitments -----------------------------------------------------------------


def state_root(state: MemoryState) -> bytes:
    """The Ethereum state root (secure MPT of accounts, each with its storage root)."""
    from trie import HexaryTrie

    accounts = HexaryTrie({})
    for address, nonce, balance, code in state.accounts():
        storage = state.storage_items(address)
        if storage:
            storage_trie = HexaryTrie({})
            for key, value in storage.items():
                storage_trie[keccak256(key.to_bytes(32, "big"))] = rlp.encode(value)
            storage_root = storage_trie.root_hash
        else:
            storage_root = EMPTY_TRIE_ROOT
        accounts[keccak256(address)] = rlp.encode([nonce, balance, storage_root, keccak256(code)])
    return accounts.root_hash


def logs_hash(logs) -> bytes:
    """keccak256(rlp(logs)) as the state tests define it."""
    return keccak256(rlp.encode([[log.address, list(log.topics), log.data] for log in logs]))


# -- running --------------------------------------------------------------------------------


def run_case(test: dict, post: dict, fork, engine=None) -> dict:
    """Run one post-state entry; return the result fields (without file and name)."""
    started = time.perf_counter()
    state = build_pre_state(test["pre"])
    block_env = build_block_env(test["env"], state, fork, engine)
    error = None
    logs = ()
    rejected = False
    try:
        receipt = apply_raw_transaction(block_env, _hex_bytes(post["txbytes"]))
        logs = receipt.logs
    except InvalidTransaction as e:
        rejected = True
        error = f"{type(e).__name__}: {e}"
    root = state_root(state)
    expected_root = _hex_bytes(post["hash"])
    passed = root == expected_root
    if passed and logs_hash(logs) != _hex_bytes(post["logs"]):
        passed = False
        error = "logs hash mismatch"
    expected_exception = post.get("expectException")
    if passed and expected_exception and not rejected:
        passed = False
        error = f"transaction accepted, expected {expected_exception}"
    return {
        "fork": fork.name,
        "indexes": post.get("indexes", {}),
        "pass": passed,
        "expected_root": "0x" + expected_root.hex(),
        "root": "0x" + root.hex(),
        "error": error,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }


class CaseTimeout(BaseException):
    """A case ran past ``--timeout``."""


def _alarm(signum, frame):
    raise CaseTimeout


def run_file(item) -> tuple[str, list[dict], int, float]:
    """Run every case of one test file for a fork: ``(name, results, skipped, seconds)``.

    ``item`` is ``(name, data, fork_name)``, optionally followed by ``timeout_seconds`` and an
    engine name (``"pure"``, ``"cext"``, ``"default"``: names, since items cross processes);
    a case past the timeout (SIGALRM, Unix only) is reported as a failure.
    """
    name, data, fork_name = item[:3]
    timeout = item[3] if len(item) > 3 else 0
    engine = engines.by_name(item[4] if len(item) > 4 else "default")
    fork = FORKS[fork_name]
    started = time.perf_counter()
    results = []
    skipped = 0
    try:
        tests = json.loads(data)
    except ValueError as e:
        return name, [_broken(name, fork_name, f"cannot parse JSON: {e}")], 0, 0.0
    for test_name, test in tests.items():
        posts = test.get("post", {}).get(fork_name)
        if not posts:
            skipped += 1
            continue
        for post in posts:
            if timeout:
                previous = signal.signal(signal.SIGALRM, _alarm)
                signal.alarm(timeout)
            try:
                result = run_case(test, post, fork, engine)
            except CaseTimeout:
                result = _broken(name, fork_name, f"timeout: still running after {timeout} s")
                result["indexes"] = post.get("indexes", {})
            except Exception as e:  # a crash is a failed case, never a dead run
                result = _broken(name, fork_name, f"crash: {type(e).__name__}: {e}")
                result["indexes"] = post.get("indexes", {})
            finally:
                if timeout:
                    signal.alarm(0)
                    signal.signal(signal.SIGALRM, previous)
            result.update(file=name, name=test_name)
            results.append(result)
    return name, results, skipped, time.perf_counter() - started


def _broken(name, fork_name, error) -> dict:
    return {
        "file": name, "name": "", "fork": fork_name, "indexes": {}, "pass": False,
        "expected_root": None, "root": None, "error": error, "ms": 0,
    }  # fmt: skip


def not_run_file(name: str, data: bytes, fork_name: str, reason: str):
    """Report every case of a file as failed without running it (a known-unfinishable file)."""
    results = []
    skipped = 0
    for test_name, test in json.loads(data).items():
        posts = test.get("post", {}).get(fork_name)
        if not posts:
            skipped += 1
        for post in posts or ():
            result = _broken(name, fork_name, f"not run: {reason}")
            result.update(name=test_name, indexes=post.get("indexes", {}))
            results.append(result)
    return name, results, skipped, 0.0


def run_paths(
    paths, fork_name="Cancun", jobs=1, timeout=0, not_run=None, engine="default", on_total=None
):
    """Yield ``run_file`` results for every test file under ``paths`` (``engine``: a name for
    ``engines.by_name``).

    ``not_run`` maps file-name suffixes to a reason: those files are reported as failed
    without being run. ``on_total(count)``, when given, is called with the number of files once
    they are all loaded, before the first one runs.
    """
    not_run = not_run or {}
    items = []
    skipped_files = 0
    for name, data in iter_sources(paths):
        reason = next((why for suffix, why in not_run.items() if name.endswith(suffix)), None)
        if reason is None:
            items.append((name, data, fork_name, timeout, engine))
        else:
            skipped_files += 1
            yield not_run_file(name, data, fork_name, reason)
    if on_total is not None:
        on_total(skipped_files + len(items))
    if jobs == 1:
        yield from map(run_file, items)
        return
    with multiprocessing.Pool(jobs, initializer=_default_signals) as pool:
        yield from pool.imap_unordered(run_file, items, chunksize=1)


def _default_signals() -> None:
    """(pool child) SIGTERM and SIGINT as a plain interpreter has them: a forked child keeps
    the parent's handlers, and a Twisted reactor's SIGTERM handler only asks a reactor the
    child does not run to stop, so ``Pool.terminate`` would wait for the child forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(options) -> int:
    """Run the tests; exit 0 when every case passed, 1 otherwise."""
    passed = failed = skipped = 0
    file_times = []
    started = time.perf_counter()
    out = sys.stdout
    progress = Progress.for_stream(sys.stderr, quiet=options["json"])
    for name, results, file_skipped, seconds in run_paths(
        options["paths"],
        options["fork"],
        options["jobs"],
        options["timeout"],
        engine=options.get("engine", "default"),
        on_total=progress.set_total,
    ):
        skipped += file_skipped
        file_times.append((seconds, name))
        for result in results:
            if result["pass"]:
                passed += 1
            else:
                failed += 1
            if not (options["failures-only"] and result["pass"]):
                progress.clear()
                out.write(json.dumps(result) + "\n")
        out.flush()
        progress.advance()
    progress.close()
    elapsed = time.perf_counter() - started
    if options["slowest"]:
        for seconds, name in sorted(file_times, reverse=True)[: options["slowest"]]:
            print(f"{seconds:8.2f}s  {name}", file=sys.stderr)
    if options["json"]:
        summary = {"passed": passed, "failed": failed, "skipped": skipped, "seconds": elapsed}
        out.write(json.dumps(summary) + "\n")
    out.write(f"{passed} passed, {failed} failed, {skipped} skipped\n")
    return 0 if failed == 0 else 1
