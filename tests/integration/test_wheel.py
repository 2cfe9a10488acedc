"""The built wheel, installed into a fresh virtualenv, runs ``twistd -n zkos --dev`` from an
empty directory: genesis, the L1 state and the L1 artifacts come from the package.

Two wheels are built from a copy of the checkout, once with the Cython extensions compiled and
once with ``ZKOS_NO_EXTENSIONS=1`` (the pure-Python paths). Each is installed with ``--no-deps``
into a new virtualenv whose dependencies come from the running environment (a ``.pth`` line
after the new environment's own site-packages, so the installed package wins over any copy
there); nothing is installed into the running environment and no registry is asked.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import free_port, http_client, require_anvil, sleep

_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "node_modules", "*.egg-info", "_trial_temp*", "__pycache__", "*.so"
)
#: Build output at the top of a checkout (``contracts/l1/build`` is source: it ships).
_TOP = {"build", "dist", "db"}


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set(_ANYWHERE(directory, names))
    if os.path.realpath(directory) == os.path.realpath(REPO_ROOT):
        ignored |= _TOP & set(names)
    if os.path.basename(directory) == "ext":
        ignored |= {n for n in names if n.endswith(".c")}
    return ignored


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def build_wheel(workdir: str, env: dict) -> str:
    """Copy the checkout to ``workdir/src``, build its wheel there, return the wheel's path."""
    source = os.path.join(workdir, "src")
    shutil.copytree(REPO_ROOT, source, ignore=_ignore)
    out = os.path.join(workdir, "dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, "."],
        cwd=source,
        env=env,
    )
    (wheel,) = glob.glob(os.path.join(out, "zkos_tw-*.whl"))
    return wheel


def install(wheel: str, workdir: str) -> str:
    """A new virtualenv under ``workdir`` with ``wheel`` installed; return its bin directory."""
    venv = os.path.join(workdir, "venv")
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = os.path.join(venv, "bin", "python")
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    # Install before the dependencies' path is added: pip must not see (and skip, or replace)
    # a zkos-tw that the running environment may hold.
    # --ignore-installed and no PYTHONPATH: a checkout's zkos_tw.egg-info or the running
    # environment's zkos-tw of the same version must not make pip skip the install.
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps"]
        + ["--ignore-installed", wheel],
        env=clean_env(),
    )
    with open(os.path.join(site, "zz-shared-deps.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    # twistd lives in the shared environment; the same entry point on the new interpreter.
    twistd = os.path.join(venv, "bin", "twistd")
    with open(twistd, "w") as f:
        f.write(f"#!{python}\nfrom twisted.scripts.twistd import run\nrun()\n")
    os.chmod(twistd, 0o755)
    return os.path.join(venv, "bin")


def clean_env(**extra) -> dict:
    """The environment without this checkout on the path (the wheel must stand alone)."""
    # The tox env's ZKOS_NO_EXTENSIONS / ZKOS_REQUIRE_EXTENSIONS would decide both setups.
    dropped = (
        "PYTHONPATH",
        "ZKOS_L1_CONTRACTS_DIR",
        "ZKOS_NO_EXTENSIONS",
        "ZKOS_REQUIRE_EXTENSIONS",
    )
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra)
    return env


_BUILT: dict = {}
_ROOT: list = []


def _built() -> dict:
    """name -> (wheel, bin directory), built once per test run (the tests share them)."""
    if not _BUILT:
        root = tempfile.mkdtemp(prefix="zkos-wheel-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _ROOT.append(root)
        for name, flags in (("compiled", {}), ("pure", {"ZKOS_NO_EXTENSIONS": "1"})):
            workdir = os.path.join(root, name)
            os.makedirs(workdir)
            wheel = build_wheel(workdir, clean_env(**flags))
            _BUILT[name] = (wheel, install(wheel, workdir))
    return _BUILT


class InstalledWheelTests(TestCase):
    """Compiled and pure wheels, each installed and run from an empty directory."""

    timeout = 150

    def setUp(self):
        self.setups = _built()
        self.root = _ROOT[0]

    def wheel_files(self, name: str) -> list[str]:
        import zipfile

        with zipfile.ZipFile(self.setups[name][0]) as z:
            return z.namelist()

    def test_wheel_ships_data(self):
        """The data files and the L1 artifacts are in both wheels; only one has extensions."""
        for name in ("compiled", "pure"):
            files = self.wheel_files(name)
            for data in ("genesis.json", "dev-genesis.json", "zkos-l1-state.json"):
                self.assertIn(f"zkos_tw/data/{data}", files)
            self.assertIn("zkos_tw/data/l1-build/Bridgehub.json", files)
            self.assertIn("twisted/plugins/zkos.py", files)
        self.assertEqual(
            len([f for f in self.wheel_files("compiled") if f.endswith(".so")]), 3, "extensions"
        )
        self.assertEqual([f for f in self.wheel_files("pure") if f.endswith(".so")], [])

    def test_defaults_point_into_the_package(self):
        """Installed: the defaults resolve inside the new environment, not the checkout."""
        bin_dir = self.setups["pure"][1]
        cwd = self.mktemp()
        os.makedirs(cwd)
        out = _run(
            [
                os.path.join(bin_dir, "python"),
                "-c",
                "from zkos_tw.config import GenesisConfig, DevConfig\n"
                "from zkos_tw.l1.artifacts import artifacts_dir\n"
                "print(GenesisConfig().genesis_input_path)\n"
                "print(DevConfig().l1_state_path)\n"
                "print(artifacts_dir())\n",
            ],
            cwd=cwd,
            env=clean_env(),
        ).stdout.split()
        venv = os.path.dirname(bin_dir)
        self.assertEqual(len(out), 3, out)
        for path in out:
            self.assertTrue(path.startswith(venv), path)
            self.assertTrue(os.path.exists(path), path)

    async def run_dev_node(self, name: str, extra_env: dict) -> None:
        require_anvil()
        bin_dir = self.setups[name][1]
        cwd = os.path.abspath(self.mktemp())
        os.makedirs(cwd)
        rpc_port, l1_port = free_port(), free_port()
        log_path = os.path.join(self.root, f"{name}-node.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    os.path.join(bin_dir, "twistd"),
                    "--pidfile=",
                    "-n",
                    "zkos",
                    "--dev",
                    "--rpc-address",
                    f"127.0.0.1:{rpc_port}",
                    "--general-l1-rpc-url",
                    f"http://127.0.0.1:{l1_port}",
                    "--general-prometheus-port",
                    str(free_port()),
                    "--status-server-address",
                    f"127.0.0.1:{free_port()}",
                    "--sequencer-block-replay-server-address",
                    f"127.0.0.1:{free_port()}",
                    "--prover-api-address",
                    f"127.0.0.1:{free_port()}",
                ],
                cwd=cwd,
                env=clean_env(**extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

        def output() -> str:
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")

        def stop():
            if process.poll() is None:
                process.kill()
                process.wait()

        self.addCleanup(stop)
        number = await self.wait_block_number(process, rpc_port, output)
        # The dev L1 state's deposit is executed in block 1.
        self.assertGreaterEqual(number, 1, output())
        # The data directory default is ./db/node1 of the working directory.
        self.assertTrue(os.path.exists(os.path.join(cwd, "db", "node1", "data.mdb")), output())
        process.terminate()
        waited = 0.0
        while process.poll() is None and waited < 20:
            await sleep(0.1)
            waited += 0.1
        self.assertIn(process.returncode, (0, -15), output())

    async def wait_block_number(self, process, port: int, output, timeout: float = 60.0) -> int:
        waited = 0.0
        while waited < timeout:
            if process.poll() is not None:
                self.fail(f"node exited with {process.returncode}:\n{output()}")
            try:
                response = await http_client().post(
                    f"http://127.0.0.1:{port}",
                    json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                    timeout=2,
                )
                number = int((await response.json())["result"], 16)
                if number >= 1:
                    return number
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            await sleep(0.2)
            waited += 0.2
        self.fail(f"no eth_blockNumber >= 1 after {timeout}s:\n{output()}")

    async def test_dev_node_compiled(self):
        """The compiled wheel: every extension is required to load."""
        await self.run_dev_node("compiled", {"ZKOS_REQUIRE_EXTENSIONS": "1"})

    async def test_dev_node_pure(self):
        """The wheel without extensions runs on the pure-Python paths."""
        await self.run_dev_node("pure", {})
